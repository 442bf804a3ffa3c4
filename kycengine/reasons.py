"""Verdict statuses, reason codes, their effects and what each says to the customer and to the bank.

The codes and their values are part of the public contract. Each reason has one text for the
customer in English and in French, safe to show as it is: a fraud reason gets a neutral text (the
precise code stays for the bank and the reviewer, so the text never tells an attacker what was
detected), and every reason the customer can fix tells them what to do differently. `meaning` is
the bank-side explanation. docs/reasons.md is this table (`kyc reasons --markdown` prints it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(str, enum.Enum):
    """Outcome of a verification."""

    APPROVED = "approved"
    REFUSED = "refused"
    RETRY_REQUIRED = "retry_required"
    MANUAL_REVIEW = "manual_review"


class Effect(str, enum.Enum):
    """What one reason does to the verdict on its own; the strongest effect present wins."""

    REFUSE = "refuse"  # final for this attempt
    RETRY = "retry"  # the customer films again (what to change is in the reason's text)
    REVIEW = "review"  # a person decides

    @property
    def status(self) -> Status:
        """The status this effect leads to when it is the strongest one present."""
        return _STATUS_OF_EFFECT[self]


_STATUS_OF_EFFECT = {Effect.REFUSE: Status.REFUSED, Effect.RETRY: Status.RETRY_REQUIRED,
                     Effect.REVIEW: Status.MANUAL_REVIEW}
EFFECT_PRECEDENCE = (Effect.REFUSE, Effect.RETRY, Effect.REVIEW)


class Reason(str, enum.Enum):
    """Why a verification was not approved; the values are part of the public contract."""

    DOCUMENT_BLURRY = "document_blurry"
    DOCUMENT_GLARE = "document_glare"
    DOCUMENT_CUT_OFF = "document_cut_off"
    DOCUMENT_NOT_FOUND = "document_not_found"
    DOCUMENT_NOT_TILTED = "document_not_tilted"
    MRZ_UNREADABLE = "mrz_unreadable"
    VIDEO_UNREADABLE = "video_unreadable"
    DOCUMENT_EXPIRED = "document_expired"
    DOCUMENT_VALIDITY_UNCERTAIN = "document_validity_uncertain"
    DOCUMENT_NOT_ACCEPTED = "document_not_accepted"
    DOCUMENT_NOT_IN_COLOR = "document_not_in_color"
    DOCUMENT_PHOTOCOPY = "document_photocopy"
    DOCUMENT_SCREEN = "document_screen"
    DOCUMENT_DAMAGED = "document_damaged"
    MRZ_INCONSISTENT = "mrz_inconsistent"
    MRZ_INVALID_DATE = "mrz_invalid_date"
    MRZ_VIZ_MISMATCH = "mrz_viz_mismatch"
    MRZ_UNCERTAIN = "mrz_uncertain"
    HOLDER_UNDERAGE = "holder_underage"
    HOLDER_AGE_UNCERTAIN = "holder_age_uncertain"
    DECLARED_IDENTITY_MISMATCH = "declared_identity_mismatch"
    DECLARED_IDENTITY_UNVERIFIED = "declared_identity_unverified"
    NO_FACE_DETECTED = "no_face_detected"
    MULTIPLE_FACES = "multiple_faces"
    FACE_MISMATCH = "face_mismatch"
    FACE_MATCH_UNCERTAIN = "face_match_uncertain"
    FACE_SWAPPED_DURING_CAPTURE = "face_swapped_during_capture"
    FACE_NOT_LIVE = "face_not_live"
    LIVENESS_UNCERTAIN = "liveness_uncertain"
    FACE_NOT_TURNED = "face_not_turned"
    NO_BLINK = "no_blink"
    CHALLENGE_FAILED = "challenge_failed"
    FACE_SCREEN = "face_screen"
    FACE_PRINT = "face_print"
    SUSPICIOUS_CAPTURE = "suspicious_capture"
    VERIFICATION_INCOMPLETE = "verification_incomplete"
    INTERNAL_ERROR = "internal_error"

    @property
    def text(self) -> ReasonText:
        """The reason's customer texts, bank-side meaning and default effect."""
        return TEXTS[self]

    @property
    def message_en(self) -> str:
        """The customer's text in English."""
        return TEXTS[self].customer_en

    @property
    def message_fr(self) -> str:
        """The customer's text in French."""
        return TEXTS[self].customer_fr

    def message(self, language: str) -> str:
        """The customer's text in 'en' or 'fr' (English for any other language)."""
        return self.message_fr if language == "fr" else self.message_en


@dataclass(frozen=True)
class ReasonText:
    """What a reason does by default and says: to the customer (EN, FR) and to the bank."""

    effect: Effect
    customer_en: str
    customer_fr: str
    meaning: str
    policy: str = ""  # the Settings field that can change the effect, if any


_REFUSED_DOCUMENT = ("This identity document could not be accepted. Please use another valid identity "
                     "document (national identity card or passport).",
                     "Ce document d'identité n'a pas pu être accepté. Veuillez utiliser un autre document "
                     "d'identité en cours de validité (carte nationale d'identité ou passeport).")
_REFUSED_SELFIE = ("Your identity could not be confirmed with this video.",
                   "Votre identité n'a pas pu être confirmée avec cette vidéo.")
_REVIEW = ("A member of our team will check your verification and get back to you.",
           "Un membre de notre équipe va examiner votre vérification et reviendra vers vous.")

_R, _T, _V = Effect.REFUSE, Effect.RETRY, Effect.REVIEW
TEXTS: dict[Reason, ReasonText] = {
    Reason.DOCUMENT_BLURRY: ReasonText(
        _T, "The document is blurry. Hold it still in good light and wait for the camera to focus "
            "before filming again.",
        "Le document est flou. Tenez-le immobile, dans un endroit bien éclairé, et attendez que la "
        "caméra fasse la mise au point avant de filmer à nouveau.",
        "Too blurry to read: the print is smeared (over document_blur_max_mm and document_blur_min_px) in "
        "document_blur_share_min of the best frames."),
    Reason.DOCUMENT_GLARE: ReasonText(
        _T, "A reflection hides part of the document. Move away from direct light, or tilt the document "
            "a little, so that no reflection covers the text.",
        "Un reflet masque une partie du document. Éloignez-vous de la lumière directe ou inclinez "
        "légèrement le document pour qu'aucun reflet ne couvre le texte.",
        "Saturated pixels cover the MRZ in most of the best frames."),
    Reason.DOCUMENT_CUT_OFF: ReasonText(
        _T, "Part of the document was outside the frame. Film the whole document, with its four corners "
            "visible.",
        "Une partie du document sortait du cadre. Filmez le document en entier, ses quatre coins "
        "visibles.",
        "The document runs off the frame in most of the frames where it was seen."),
    Reason.DOCUMENT_NOT_FOUND: ReasonText(
        _T, "No identity document was seen. Film the front of your identity card or the photo page of "
            "your passport, close enough to fill most of the screen.",
        "Aucun document d'identité n'a été vu. Filmez le recto de votre carte d'identité ou la page "
        "photo de votre passeport, d'assez près pour remplir la majeure partie de l'écran.",
        "No document outline and no MRZ were found in the document video."),
    Reason.DOCUMENT_NOT_TILTED: ReasonText(
        _T, "Slowly tilt the document back and forth while you film it.",
        "Inclinez lentement le document d'avant en arrière pendant que vous le filmez.",
        "The document's perspective never changed: it may be a flat picture rather than a card."),
    Reason.MRZ_UNREADABLE: ReasonText(
        _T, "The lines of characters at the bottom of the document could not be read. Film it again, "
            "closer, so that those lines are sharp and free of reflections.",
        "Les lignes de caractères en bas du document n'ont pas pu être lues. Filmez-le à nouveau, de "
        "plus près, pour que ces lignes soient nettes et sans reflet.",
        "The MRZ was not found, or not read the same way across frames (a capture problem, not a "
        "finding against the document)."),
    Reason.VIDEO_UNREADABLE: ReasonText(
        _T, "A video could not be read. Please record it again.",
        "Une vidéo n'a pas pu être lue. Veuillez l'enregistrer à nouveau.",
        "A video file is corrupt, truncated, empty, not a video or over the size limits."),
    Reason.DOCUMENT_EXPIRED: ReasonText(
        _R, "This identity document has expired. Please use a document that is still valid.",
        "Ce document d'identité a expiré. Veuillez utiliser un document en cours de validité.",
        "Expired on every possible reading of its dates (for the 1988 card: even if issued on the "
        "last day of its issue month)."),
    Reason.DOCUMENT_VALIDITY_UNCERTAIN: ReasonText(
        _V, *_REVIEW,
        "The document expires or expired within the days its dates leave open (the 1988 card's issue "
        "day is not encoded): a person checks the printed dates."),
    Reason.DOCUMENT_NOT_ACCEPTED: ReasonText(
        _R, "This type of document is not accepted. Please use a French national identity card or a "
            "passport.",
        "Ce type de document n'est pas accepté. Veuillez utiliser une carte nationale d'identité "
        "française ou un passeport.",
        "The document type or issuing state is not in Settings.accepted_documents / "
        "accepted_passport_states."),
    Reason.DOCUMENT_NOT_IN_COLOR: ReasonText(
        _R, *_REFUSED_DOCUMENT,
        "Neither the document nor the video has colour (a greyscale capture or re-encode)."),
    Reason.DOCUMENT_PHOTOCOPY: ReasonText(
        _R, *_REFUSED_DOCUMENT,
        "The document has no colour in a colour video: a black-and-white copy."),
    Reason.DOCUMENT_SCREEN: ReasonText(
        _R, *_REFUSED_DOCUMENT,
        "The document is shown on a screen (refresh banding), not filmed as a physical card."),
    Reason.DOCUMENT_DAMAGED: ReasonText(
        _R, "This document is damaged and cannot be accepted. Please use another valid identity "
            "document.",
        "Ce document est abîmé et ne peut pas être accepté. Veuillez utiliser un autre document "
        "d'identité en cours de validité.",
        "Torn, cut, creased across the MRZ or the portrait, or a corner missing.",
        policy="document_damaged_effect"),
    Reason.MRZ_INCONSISTENT: ReasonText(
        _R, *_REFUSED_DOCUMENT,
        "The MRZ was read clearly and the same way frame after frame, but a check digit fails, its "
        "document code is one its format forbids, or its issue date is impossible for the model.",
        policy="mrz_check_digit_effect, mrz_document_code_effect, mrz_issue_date_effect"),
    Reason.MRZ_INVALID_DATE: ReasonText(
        _R, *_REFUSED_DOCUMENT,
        "A date of the MRZ is not a date, or the dates contradict each other (expiry before birth, "
        "birth after today).",
        policy="mrz_date_effect"),
    Reason.MRZ_VIZ_MISMATCH: ReasonText(
        _R, *_REFUSED_DOCUMENT,
        "A printed field read confidently differs from the MRZ (surname, document number)."),
    Reason.MRZ_UNCERTAIN: ReasonText(
        _V, *_REVIEW,
        "The MRZ passes its checks, but a character that no check digit confirms was in doubt (a near "
        "tie in a name or a state code, a digit read in a name, a code that is not on the ICAO 9303 "
        "list) and the printed zone did not confirm it: a person compares the MRZ with the document."),
    Reason.HOLDER_UNDERAGE: ReasonText(
        _R, "You must be of age to open this account.",
        "Vous devez être majeur pour ouvrir ce compte.",
        "The holder is younger than Settings.minimum_age on every reading of the birth date."),
    Reason.HOLDER_AGE_UNCERTAIN: ReasonText(
        _V, *_REVIEW,
        "The holder reaches the minimum age within the days the birth date leaves open, or its "
        "century is ambiguous: a person checks."),
    Reason.DECLARED_IDENTITY_MISMATCH: ReasonText(
        _R, "The document is not in the name or birth date you entered. Please check what you entered, "
            "or use a document in your own name.",
        "Le document n'est pas au nom ou à la date de naissance que vous avez saisis. Vérifiez votre "
        "saisie, ou utilisez un document à votre nom.",
        "A declared field clearly differs from the document (the rules are in kycengine.declared)."),
    Reason.DECLARED_IDENTITY_UNVERIFIED: ReasonText(
        _V, *_REVIEW,
        "A declared field could not be confirmed (near miss, usage name not readable): a person "
        "compares."),
    Reason.NO_FACE_DETECTED: ReasonText(
        _T, "Your face was not seen. Film your face from the front, well lit, filling most of the screen.",
        "Votre visage n'a pas été vu. Filmez votre visage de face, bien éclairé, en remplissant la "
        "majeure partie de l'écran.",
        "No face, or a face in too few selfie frames."),
    Reason.MULTIPLE_FACES: ReasonText(
        _T, "Several faces were seen. Make sure you are alone in the frame and film again.",
        "Plusieurs visages ont été vus. Assurez-vous d'être seul dans le cadre et filmez à nouveau.",
        "Two similar-sized faces in many of the selfie's detector runs."),
    Reason.FACE_MISMATCH: ReasonText(
        _R, "We could not confirm that the document belongs to you.",
        "Nous n'avons pas pu confirmer que ce document vous appartient.",
        "The selfie's face does not match the document portrait (below the uncertain band)."),
    Reason.FACE_MATCH_UNCERTAIN: ReasonText(
        _V, *_REVIEW,
        "The similarity lies in the uncertain band around the threshold, or two face backends disagree."),
    Reason.FACE_SWAPPED_DURING_CAPTURE: ReasonText(
        _R, *_REFUSED_SELFIE,
        "The face at the start of the selfie is not the face at its end."),
    Reason.FACE_NOT_LIVE: ReasonText(
        _R, *_REFUSED_SELFIE,
        "The face moved as a flat picture, or an anti-spoofing model says it is not live."),
    Reason.LIVENESS_UNCERTAIN: ReasonText(
        _V, *_REVIEW,
        "A thin bright line on one side of a face that turned in 3D: a recorded video on a device with a "
        "light bezel, or a bright straight edge of the room; a person looks at the selfie."),
    Reason.FACE_NOT_TURNED: ReasonText(
        _T, "Turn your head slowly to the left, then to the right, while you film your face.",
        "Tournez lentement la tête vers la gauche, puis vers la droite, pendant que vous filmez votre "
        "visage.",
        "The head did not turn enough each way for the 3D check."),
    Reason.NO_BLINK: ReasonText(
        _T, "Blink naturally while you film your face, and keep your eyes uncovered.",
        "Clignez des yeux naturellement pendant que vous filmez votre visage, les yeux bien visibles.",
        "No blink was seen in the selfie."),
    Reason.CHALLENGE_FAILED: ReasonText(
        _R, *_REFUSED_SELFIE,
        "The face turned and blinked, but not in the order and time windows of the challenge drawn when "
        "the capture began (docs/capture.md): a recording made before it, replayed."),
    Reason.FACE_SCREEN: ReasonText(
        _R, *_REFUSED_SELFIE,
        "The face is shown on a screen (bezel, pixel grid, screen light on a flat face)."),
    Reason.FACE_PRINT: ReasonText(
        _R, *_REFUSED_SELFIE,
        "The face is a printed photo (white border, halftone, flat print tones on a flat face)."),
    Reason.SUSPICIOUS_CAPTURE: ReasonText(
        _R, *_REFUSED_SELFIE,
        "The selfie stream was manipulated: repeated frames, time going backwards, splices, a still "
        "picture, no sensor noise."),
    Reason.VERIFICATION_INCOMPLETE: ReasonText(
        _V, *_REVIEW,
        "A check could not run (no portrait, an unmeasurable cue, a stage over its time limit)."),
    Reason.INTERNAL_ERROR: ReasonText(
        _V, *_REVIEW,
        "A stage crashed, or the worker could not complete the job: a person decides."),
}


def explain(code: str, effect: str | None = None) -> dict[str, object]:
    """What a webhook says of one reason: its code, its effect and the customer's texts (en, fr). A
    code this release does not know (stored by another release) keeps its code and effect only."""
    if code not in Reason._value2member_map_:
        return {"code": code, "effect": effect}
    text = TEXTS[Reason(code)]
    return {"code": code, "effect": effect or text.effect.value,
            "message": {"en": text.customer_en, "fr": text.customer_fr}}


def markdown_table() -> str:
    """docs/reasons.md's table: code, default effect (and the setting that changes it), customer
    texts in English and French, and what the code means for the bank."""
    rows = ["| code | effect | customer (en) | customer (fr) | meaning for the bank |",
            "|---|---|---|---|---|"]
    for reason in Reason:
        text = TEXTS[reason]
        effect = text.effect.value + (f" (`{text.policy}`)" if text.policy else "")
        rows.append(f"| `{reason.value}` | {effect} | {text.customer_en} | {text.customer_fr} | "
                    f"{text.meaning} |")
    return "\n".join(rows)
