"""Chat bots that answer: Telegram, Discord and Slack commands to follow teams and ask the score
(the inbound side of the chat channels; ``routes`` adds their endpoints to the API).

``commands`` parses a command (pure), ``service`` decides the answer (one place for all three
platforms), ``texts`` holds every sentence a bot says; ``telegram``, ``discord`` and ``slack``
verify, translate and render for their platform.
"""
