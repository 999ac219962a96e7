"""The words of the demo: names, notes, requests and reasons people and staff write."""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    """The words of ``text``; underscores join the words of one name ("Van_Dyke")."""
    return tuple(word.replace("_", " ") for word in text.split())


FIRST_NAMES = _words(
    "Olivia Liam Emma Noah Ava Mateo Sophia Elijah Isabella Lucas Mia Mason Amelia Ethan "
    "Harper Logan Evelyn Aiden Abigail Jackson Emily Sebastian Ella Jack Aria Owen Scarlett "
    "Daniel Chloé Samuel Camila Henry Penelope Wyatt Layla Leo Nora Julian Zoë Ezra Riley "
    "Miles Hannah Theo Priya Arjun Aisha Omar Fatima Yusuf Mei Wei Hiroshi Yuki Sakura Jin "
    "Ji-woo Thanh Linh Kofi Amara Chidi Adaeze Femi Zainab Tariq Leila Darius Nadia Ivan "
    "Oksana Lars Björn Astrid Giulia Chiara Matteo José Andrés Iñaki Lucía Marisol Santiago "
    "Valentina Rafael Rosa François Renée Amélie Malik Jamal Imani Xavier Yara Kai Ravi "
    "Anika Nikhil Deepa Grace Ruth Walter Dolores Frank Marjorie Gus Pearl"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell "
    "Carter Roberts Kowalski Novak O'Brien O'Connor McAllister Okafor Adeyemi Mensah Patel "
    "Shah Gupta Singh Khan Ali Haddad Nakamura Tanaka Sato Kim Park Choi Chen Wang Li Zhang "
    "Liu Tran Pham Müller Schmidt Rossi Bianchi Dubois Lefèvre Moreau Jensen Larsen "
    "Nilsson Johansson Kaczmarek Horvat Popescu Ivanova Petrov Cohen Levi Goldberg Silva "
    "Santos Oliveira Costa Ferreira Murphy Kelly Byrne Walsh Doyle Van_Dyke De_Vries "
    "Yilmaz Demir"
)
# Reserved for documentation (RFC 2606): no demo e-mail ever reaches anyone.
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
# Chicago-area codes; 555-0100…0199 is the range reserved for fiction.
AREA_CODES = ("312", "773", "872", "630", "708", "847", "224", "331", "815", "414", "262")

CUSTOMER_NOTES = (
    "Prefers evening slots.",
    "Birthday party organiser; usually books for the whole family.",
    "Asked about corporate team-building packages.",
    "Uses a wheelchair: offer step-free rooms.",
    "Regular; likes to play without hints.",
    "Company card last time: ask for invoice details.",
    "Allergic to latex: check props before the game.",
    "Left a glowing review online.",
    "Brought a school group; needs a receipt per parent.",
)
SPECIAL_REQUESTS = (
    "Birthday: could we have a few minutes for photos afterwards?",
    "One guest uses a wheelchair.",
    "First escape room for all of us!",
    "Team-building outing; please keep hints to a minimum.",
    "Anniversary surprise, please don't mention it at check-in.",
    "Two guests may arrive ten minutes late.",
    "A guest is hard of hearing; written hints please.",
)
CANCEL_REASONS = (
    "Customer request: schedule conflict",
    "Illness in the party",
    "Booked the wrong date",
    "Travel cancelled because of the weather",
    "Duplicate booking",
    "Room closed for maintenance",
)
GOODWILL_REASON = "Goodwill: a puzzle prop failed during the game"
# code, kind, value (basis points, or minor units of the venue's currency)
PROMOS = (("WELCOME10", "percent", 1000), ("LOCALS15", "percent", 1500), ("TEAM5", "fixed", 500))
