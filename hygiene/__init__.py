"""AWS key hygiene: an immutable inventory of each account (`inventory`, the only module that calls AWS),
pure checks over it (`checks/`, one module plus a metadata file per check id), recommendations per failing
key (`recommend`), reports (`report/`), mail to owners (`mail`), a schedule (`schedule`) and opt-in
remediation (`remediate`). `ledger` records what was mailed and every remediation in the findings database.
"""
