"""Imported by the job server (multiprocessing's fork server) before it forks any job: work
each job's process would otherwise do again at its model's first load is done here once, and
every job is forked with it."""

from services.compat import prepare_requirement_checks

prepare_requirement_checks()  # MLflow's package map: about half a second per process
