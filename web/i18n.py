"""The review console's words in English and French, all in one table, and the language of a request.

A page asks `Translator.t(key)`; an unknown key raises KeyError (a missing text is a bug, never shown
as a key). The language comes from the `kyc_lang` cookie (the page's language switch), else from the
browser's Accept-Language, else English. Reason texts come from `kycengine.reasons` (both languages).
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("en", "fr")
COOKIE = "kyc_lang"

STRINGS: dict[str, tuple[str, str]] = {
    "title": ("Review console", "Console de revue"),
    "login.title": ("Reviewer sign-in", "Connexion des réviseurs"),
    "login.name": ("Name", "Nom"),
    "login.password": ("Password", "Mot de passe"),
    "login.submit": ("Sign in", "Se connecter"),
    "login.bad": ("Unknown name or wrong password.", "Nom inconnu ou mot de passe incorrect."),
    "login.limited": ("Too many failed sign-ins: wait a few minutes.",
                      "Trop d'échecs de connexion : patientez quelques minutes."),
    "logout": ("Sign out", "Se déconnecter"),
    "signed_in_as": ("Signed in as", "Connecté en tant que"),
    "queue.title": ("Cases waiting for a decision", "Dossiers en attente de décision"),
    "queue.empty": ("No case is waiting.", "Aucun dossier en attente."),
    "queue.case": ("Case", "Dossier"),
    "queue.attempt": ("Attempt", "Tentative"),
    "queue.deadline": ("Deadline", "Échéance"),
    "queue.left": ("Time left", "Temps restant"),
    "queue.hours": ("h", "h"),
    "queue.overdue": ("overdue", "en retard"),
    "queue.escalated": ("escalated", "escaladé"),
    "queue.reasons": ("Reasons", "Motifs"),
    "queue.customer": ("Customer", "Client"),
    "case.back": ("Back to the queue", "Retour à la file"),
    "case.verdict": ("Engine verdict", "Verdict du moteur"),
    "case.evidence": ("Evidence", "Pièces"),
    "case.no_evidence": ("No images kept for this attempt.", "Aucune image conservée pour cette tentative."),
    "case.identity": ("Identity", "Identité"),
    "case.field": ("Field", "Champ"),
    "case.declared": ("Declared", "Déclaré"),
    "case.mrz": ("MRZ", "MRZ"),
    "case.printed": ("Printed", "Imprimé"),
    "case.outcome": ("Outcome", "Résultat"),
    "case.mrz_lines": ("MRZ lines", "Lignes MRZ"),
    "case.checks": ("Checks", "Contrôles"),
    "case.check": ("Check", "Contrôle"),
    "case.passed": ("Passed", "Réussi"),
    "case.findings": ("Findings", "Constats"),
    "case.value": ("Value", "Valeur"),
    "case.limit": ("Threshold", "Seuil"),
    "case.detail": ("Detail", "Détail"),
    "case.scores": ("Scores", "Scores"),
    "case.face": ("Face match", "Comparaison des visages"),
    "case.similarity": ("Similarity", "Similarité"),
    "case.liveness": ("Liveness cues", "Indices de vivacité"),
    "case.live": ("Live", "Vivant"),
    "case.attempts": ("Attempts", "Tentatives"),
    "case.earlier": ("Earlier attempts of this customer", "Tentatives précédentes de ce client"),
    "case.none": ("none", "aucune"),
    "case.history": ("Audit trail", "Journal d'audit"),
    "case.when": ("When", "Quand"),
    "case.event": ("Event", "Événement"),
    "case.details": ("Details", "Détails"),
    "case.decided": ("Decided", "Décidé"),
    "case.pending": ("First approval recorded, waiting for a second reviewer",
                     "Première approbation enregistrée, en attente d'un second réviseur"),
    "decide.title": ("Decision", "Décision"),
    "decide.approve": ("Approve", "Approuver"),
    "decide.refuse": ("Refuse", "Refuser"),
    "decide.retry": ("Ask the customer to retry", "Demander au client de recommencer"),
    "decide.reasons": ("Reason codes (refuse, retry)", "Codes motifs (refus, nouvel essai)"),
    "decide.comment": ("Comment", "Commentaire"),
    "decide.submit": ("Record the decision", "Enregistrer la décision"),
    "reverify.submit": ("Re-verify with strict settings", "Revérifier avec des réglages stricts"),
    "error.title": ("The request could not be carried out", "La demande n'a pas pu aboutir"),
    "language": ("Français", "English"),
}


@dataclass(frozen=True)
class Translator:
    """The console's texts in one language."""

    language: str

    def t(self, key: str) -> str:
        """The text of `key` in this language."""
        en, fr = STRINGS[key]
        return fr if self.language == "fr" else en

    @property
    def other(self) -> str:
        """The language the switch offers."""
        return "en" if self.language == "fr" else "fr"


def from_accept_language(header: str | None) -> str | None:
    """The first of our languages in an Accept-Language header by quality, or None."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else None


def language(cookie: str | None, accept_language: str | None) -> str:
    """The page language: the switch's cookie, else the browser's preference, else English."""
    if cookie in LANGUAGES:
        return str(cookie)
    return from_accept_language(accept_language) or "en"
