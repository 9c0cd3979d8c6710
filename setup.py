"""Only for the optional C extension; all other packaging metadata lives in pyproject.toml.

linkage/_hmac_bulk.c makes pseudonymisation about ten times faster. When it cannot be built (no C
compiler), the install still succeeds and linkage/pseudonyms.py uses hashlib, with identical output.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "linkage._hmac_bulk", sources=["linkage/_hmac_bulk.c"], optional=True, extra_compile_args=["-O3"]
        ),
    ],
)
