"""Trials run to a study-wide budget by one process or several sharing the study.

- worker.py: one worker's share (its objective, progress and callbacks), in this process or in each of N
- admission.py: each worker's loop; a trial is admitted only while the budget has room (`budget_left`)
- processes.py: `workers=N` processes on this machine, started, watched and stopped
- reaper.py: the trials of processes that died mid-trial, failed and retried once
"""
