"""The complaints service (投诉).

Numbered complaints, escalation to the supervisor, promised deadlines, penalties.
"""
