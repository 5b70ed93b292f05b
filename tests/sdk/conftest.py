from support.colour_bundle import COLOUR_LABELS, build_colour_bundle, register_fixtures, two_tone  # noqa: F401

register_fixtures(globals())
