"""The stapelingsrapport for the gemeenteraad: HTML and A4 PDF built from the protected output of a run.

Entry point: `reports.build.build_report`.
"""
