"""What is due and when: the deadline calendar, the reminder policy, the planner and sender ticks.

Pure functions of `now`; APScheduler only fires the ticks. Depends on `storage`, never on `bot`.
"""
