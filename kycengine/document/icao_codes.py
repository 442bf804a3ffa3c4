"""The codes an MRZ may give for an issuing state or a nationality, as data.

Source: ICAO Doc 9303, Machine Readable Travel Documents, 8th edition (2021), Part 3, section 5
("Three-letter codes"): the ISO 3166-1 alpha-3 country codes, plus the codes ICAO assigns that ISO
does not (Germany's one-letter D, the British nationality classes, organisations, the stateless
and refugee codes, the EU, Kosovo, and the specimen state Utopia). A code outside this list is not
an MRZ's: read from a document it is an OCR error or a code this release does not know yet.
"""

from __future__ import annotations

# ISO 3166-1 alpha-3, every officially assigned code.
ISO_3166_ALPHA3 = frozenset("""
ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA BGD BGR BHR BHS
BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN CIV CMR COD COG COK COL COM CPV
CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU EGY ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM
GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN
IND IOT IRL IRN IRQ ISL ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE
LKA LSO LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS
MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN PER PHL PLW PNG POL PRI PRK
PRT PRY PSE PYF QAT REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR
SVK SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR UMI URY
USA UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE
""".split())

# Doc 9303 Part 3's own codes, with what each stands for.
ICAO_ONLY: dict[str, str] = {
    "D": "Germany (written D<< in the MRZ)",
    "GBD": "British Overseas Territories Citizen",
    "GBN": "British National (Overseas)",
    "GBO": "British Overseas Citizen",
    "GBP": "British Protected Person",
    "GBS": "British Subject",
    "EUE": "European Union",
    "RKS": "Kosovo",
    "UNO": "United Nations Organization",
    "UNA": "a specialized agency of the United Nations",
    "UNK": "resident of Kosovo, document issued by the United Nations mission (UNMIK)",
    "XBA": "African Development Bank",
    "XIM": "African Export-Import Bank",
    "XCC": "Caribbean Community",
    "XCE": "Council of Europe",
    "XCO": "Common Market for Eastern and Southern Africa",
    "XDC": "Southern African Development Community",
    "XEC": "Economic Community of West African States",
    "XES": "Organisation of Eastern Caribbean States",
    "XMP": "Parliamentary Assembly of the Mediterranean",
    "XOM": "Sovereign Military Order of Malta",
    "XPO": "International Criminal Police Organization (INTERPOL)",
    "XXA": "stateless person (1954 Convention)",
    "XXB": "refugee (1951 Convention)",
    "XXC": "refugee (other than the 1951 Convention)",
    "XXX": "person of unspecified nationality",
    "UTO": "Utopia, the fictitious state of the Doc 9303 specimens",
}

STATE_CODES: frozenset[str] = ISO_3166_ALPHA3 | frozenset(ICAO_ONLY)


def is_state_code(code: str) -> bool:
    """True when `code` (fillers stripped: "D<<" is "D") is an issuing state or nationality of Doc 9303."""
    return code in STATE_CODES
