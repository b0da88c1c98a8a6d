"""Grafana's unit ids (fieldConfig.defaults.unit).

Source: grafana/grafana packages/grafana-data/src/valueFormats/categories.ts (getCategories), union of
the Grafana 10.x-12.x lists, plus the alias and custom-unit prefixes getValueFormat() understands.
Grafana renders an unknown id as a literal suffix instead of failing, so a typo ("precent") would
silently show as text; the dashboard lint rejects ids outside this list.
"""

from __future__ import annotations

GRAFANA_UNITS: frozenset[str] = frozenset(
    {
        # Misc
        "none", "string", "short", "percent", "percentunit", "humidity", "dB", "hex0x", "hex", "sci",
        "locale", "pixel",
        # Acceleration
        "accMS2", "accFS2", "accG",
        # Angle
        "degree", "radian", "grad", "arcmin", "arcsec",
        # Area
        "areaM2", "areaF2", "areaMI2",
        # Computation
        "flops", "mflops", "gflops", "tflops", "pflops", "eflops", "zflops", "yflops",
        # Concentration
        "ppm", "conppb", "conngm3", "conngNm3", "conμgm3", "conμgNm3", "conmgm3", "conmgNm3", "congm3",
        "congNm3", "conmgdL", "conmmolL",
        # Currency
        "currencyUSD", "currencyGBP", "currencyEUR", "currencyJPY", "currencyRUB", "currencyUAH",
        "currencyBRL", "currencyDKK", "currencyISK", "currencyNOK", "currencySEK", "currencyCZK",
        "currencyCHF", "currencyPLN", "currencyBTC", "currencymBTC", "currencyμBTC", "currencyZAR",
        "currencyINR", "currencyKRW", "currencyIDR", "currencyPHP", "currencyVND", "currencyTRY",
        # Data
        "bytes", "decbytes", "bits", "decbits", "kbytes", "deckbytes", "mbytes", "decmbytes", "gbytes",
        "decgbytes", "tbytes", "dectbytes", "pbytes", "decpbytes",
        # Data rate
        "pps", "binBps", "Bps", "binbps", "bps", "KiBs", "Kibits", "KBs", "Kbits", "MiBs", "Mibits", "MBs",
        "Mbits", "GiBs", "Gibits", "GBs", "Gbits", "TiBs", "Tibits", "TBs", "Tbits", "PiBs", "Pibits", "PBs",
        "Pbits",
        # Date & time
        "dateTimeAsIso", "dateTimeAsIsoNoDateIfToday", "dateTimeAsUS", "dateTimeAsUSNoDateIfToday",
        "dateTimeAsLocal", "dateTimeAsLocalNoDateIfToday", "dateTimeAsSystem", "dateTimeFromNow",
        # Energy
        "watt", "kwatt", "megwatt", "gwatt", "mwatt", "Wm2", "voltamp", "kvoltamp", "voltampreact",
        "kvoltampreact", "watth", "watthperkg", "kwatth", "kwattm", "amph", "kamph", "mamph", "joule", "ev",
        "amp", "kamp", "mamp", "volt", "kvolt", "mvolt", "dBm", "ohm", "kohm", "Mohm", "farad", "µfarad",
        "nfarad", "pfarad", "ffarad", "henry", "mhenry", "µhenry", "lumens",
        # Flow
        "flowgpm", "flowcms", "flowcfs", "flowcfm", "litreh", "flowlpm", "flowmlpm", "lux",
        # Force
        "forceNm", "forcekNm", "forceN", "forcekN",
        # Hash rate
        "Hs", "KHs", "MHs", "GHs", "THs", "PHs", "EHs",
        # Mass
        "massmg", "massg", "masslb", "masskg", "masst",
        # Length
        "lengthmm", "lengthin", "lengthft", "lengthm", "lengthkm", "lengthmi",
        # Pressure
        "pressurembar", "pressurebar", "pressurekbar", "pressurepa", "pressurehpa", "pressurekpa",
        "pressurehg", "pressurepsi",
        # Radiation
        "radbq", "radci", "radgy", "radrad", "radsv", "radmsv", "radusv", "radrem", "radexpckg", "radr",
        "radsvh", "radmsvh", "radusvh",
        # Rotational speed
        "rotrpm", "rothz", "rotrads", "rotdegs",
        # Temperature
        "celsius", "fahrenheit", "kelvin",
        # Time
        "hertz", "ns", "µs", "ms", "s", "m", "h", "d", "dtdurationms", "dtdurations", "dthms", "dtdhms",
        "timeticks", "clockms", "clocks",
        # Throughput
        "cps", "ops", "reqps", "rps", "wps", "iops", "eps", "mps", "recps", "rowsps", "cpm", "opm", "reqpm",
        "rpm", "wpm", "epm", "mpm", "recpm", "rowspm",
        # Velocity
        "velocityms", "velocitykmh", "velocitymph", "velocityknot",
        # Volume
        "mlitre", "litre", "m3", "Nm3", "dm3", "gallons",
        # Boolean
        "bool", "bool_yes_no", "bool_on_off",
        # old id Grafana still resolves
        "farenheit",
    }
)  # fmt: skip

# Custom units: "<prefix>:<text>", e.g. "suffix: req", "currency:CHF", "si:ms", "bool:up/down".
CUSTOM_UNIT_PREFIXES: tuple[str, ...] = ("prefix", "suffix", "time", "si", "count", "currency", "bool")


def is_grafana_unit(unit: str) -> bool:
    """True for a built-in unit id or a custom `prefix:`/`suffix:`/`si:`/... unit."""
    if unit in GRAFANA_UNITS:
        return True
    key, sep, rest = unit.partition(":")
    return bool(sep) and key in CUSTOM_UNIT_PREFIXES and rest != ""
