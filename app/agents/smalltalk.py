"""What the assistant says when no tool is needed: greetings, help, a joke, honesty.

The assistant runs offline, without a language model: it says so plainly when asked
what it can do, when asked about the weather, and when nothing it knows matches. Each
intent is one bounded pattern searched once over the (capped) question.
"""

from __future__ import annotations

import random
import re

CAN_DO = (
    "I'm the demo assistant of wsao_trio. I run offline, without a language model or "
    "internet access, and every step I take shows up as a thinking line or a tool call. "
    "I can:\n\n"
    '- **do arithmetic** with the calculator: "What is 17 * 23 + 4?", "square root of 2", '
    '"2 to the power of 10", "15% of 80"\n'
    '- **convert units**: "10 km in miles", "how many miles is a marathon?"\n'
    '- **tell the time anywhere**: "what time is it in Tokyo?"\n'
    '- **answer questions about wsao_trio** from its docs: "how do I test my agent?", '
    '"what happens on shutdown?"\n\n'
    'Ask me to think "slowly" and you can press Stop while I work.'
)
GREETING = (
    "Hello! I'm the demo assistant. I can do arithmetic, convert units, tell the time in "
    "any city and answer questions about wsao_trio from its docs. What would you like to try?"
)
ABOUT = (
    "wsao_trio is a Trio-native WebSocket agent orchestrator: one place that owns every "
    "agent run of a chat service and makes sure the run's events (started, thinking, tool "
    "calls, the answer) reach the user's browser in order and once, across reconnects, "
    "slow clients, cancellation, crashes and shutdown. This chat is its demo: I'm one of "
    "its agents, and you are watching my events arrive."
)
THANKS = "You're welcome! Ask me anything else: arithmetic, units, time zones or the docs."
NO_WEATHER = (
    "I can't check the weather: I run offline, with no internet access and no weather service."
)
DONT_KNOW = (
    "I don't know that one, and the wsao_trio docs don't cover it. I'm a small offline "
    "assistant without a language model, so I stick to arithmetic, unit conversions, time "
    'zones and questions about wsao_trio. Ask "what can you do?" for examples.'
)
JOKES = (
    "Why do programmers prefer dark mode? Because light attracts bugs.",
    "There are 10 kinds of people: those who understand binary and those who don't.",
    "A SQL query walks into a bar, goes up to two tables and asks: may I join you?",
    "Why did the WebSocket break up with HTTP? It wanted a connection that lasts.",
    "I'd tell you a UDP joke, but you might not get it.",
)

_WEATHER = re.compile(r"\b(?:weather|forecast|rain(?:ing|y)?|sunny|snow(?:ing)?)\b", re.I)
_JOKE = re.compile(r"\b(?:jokes?|funny|make\s++me\s++laugh)\b", re.I)
_HELP = re.compile(
    r"\b(?:what\s++(?:can|do)\s++you\s++do|what\s++can\s++i\s++ask|who\s++are\s++you"
    r"|what\s++are\s++you|how\s++do\s++you\s++work|help|capabilities)\b",
    re.I,
)
_ABOUT = re.compile(
    r"^\W*+(?:what\s++is|what's|tell\s++me\s++about)\s++(?:the\s++)?"
    r"(?:wsao(?:[_ -]?+trio)?+|this\s++(?:project|app|demo|thing|chat))\W*+$",
    re.I,
)
_THANKS = re.compile(r"^\W*+(?:thanks|thank\s++you|thx|cheers|great|cool|nice)\b", re.I)
_GREETING = re.compile(
    r"^\W*+(?:hi|hello|hey|hiya|howdy|greetings|yo|good\s++(?:morning|afternoon|evening|day))\b",
    re.I,
)


def is_about_question(text: str) -> bool:
    """Whether ``text`` is "what is wsao_trio?" (answered from memory, not the docs)."""
    return _ABOUT.search(text) is not None


def is_weather_question(text: str) -> bool:
    """Whether ``text`` asks about the weather (which the assistant cannot know)."""
    return _WEATHER.search(text) is not None


def small_talk(text: str, rng: random.Random | None = None) -> str | None:
    """The reply to ``text`` if it is small talk the assistant answers itself, else None."""
    if is_weather_question(text):
        return NO_WEATHER + " I can tell you the local time in a city, though."
    if _JOKE.search(text):
        return "Here's one: " + (rng or random.Random()).choice(JOKES)
    if _ABOUT.search(text):
        return ABOUT
    if _HELP.search(text):
        return CAN_DO
    if _THANKS.search(text):
        return THANKS
    if _GREETING.search(text):
        return GREETING
    return None
