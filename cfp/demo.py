"""Demo data drawn from the real case (filled in below)."""


def seed_demo() -> bool:
    return False
