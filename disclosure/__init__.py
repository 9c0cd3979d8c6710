"""Statistical disclosure control for samenloop tables (docs/contract.md §8; method in docs/disclosure.md).

- `disclosure.rules`: the rules as data (`regels.toml`) and `load_rules`.
- `disclosure.protect`: `protect_table`, threshold, small areas, rounding and secondary suppression.
- `disclosure.audit`: `audit_protection`, the attacker's view checked with linear programming.
"""
