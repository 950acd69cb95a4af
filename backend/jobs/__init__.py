"""Queued verification of large media: durable jobs, Redis Stream or table queue, bounded analysis.

store    job rows and cached results (the database is the record)
queues   where workers take jobs: Redis Stream consumer group, or the jobs table
runner   one analysis in a child process with memory and time limits
analysis the child process itself
probe    structural checks of media before analysis
worker   the worker loop, in-process threads or `avlabel worker`
service  what the web process does: queue, cache, status
"""
