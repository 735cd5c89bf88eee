"""What runs an agent: its context, notifier, tool dispatcher, run context, supervisor,
runner, tools and the agent registry. Agents and tools see a :class:`RunContext`,
never a socket, the hub or the log.
"""
