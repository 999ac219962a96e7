"""Demo data: months of a venue's life, with every status, segment and money movement.

``seed_demo`` fills an organization (the demo venue by default) with sessions from its
weekly schedules, customers, and bookings placed in sessions with room, each with the
timeline, payments and refunds its status implies. ``bookingtms seed-demo`` runs it.
"""

from app.server.seed_demo.seed import DEFAULT_SEED, SeedReport, seed_demo

__all__ = ["DEFAULT_SEED", "SeedReport", "seed_demo"]
