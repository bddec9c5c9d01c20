"""``seedtree validate``: every check of a taxonomy's ``qna.yaml`` leaves, with positions.

:mod:`.api` is the entry point (``validate_paths``, ``validate_leaf``); :mod:`.rules` lists every
rule id with its severity; :mod:`.check` runs the rules on one file; :mod:`.report` renders
findings as text, GitHub annotations or JSON.
"""
