"""Verdict statuses and reason codes: stable lowercase values with short user-facing messages."""

from __future__ import annotations

import enum


class Status(str, enum.Enum):
    """Outcome of a verification."""

    APPROVED = "approved"
    REFUSED = "refused"
    RETRY_REQUIRED = "retry_required"
    MANUAL_REVIEW = "manual_review"


class Reason(str, enum.Enum):
    """Why a verification was not approved; the values are part of the public contract."""

    DOCUMENT_BLURRY = "document_blurry"
    DOCUMENT_GLARE = "document_glare"
    DOCUMENT_CUT_OFF = "document_cut_off"
    DOCUMENT_NOT_FOUND = "document_not_found"
    DOCUMENT_EXPIRED = "document_expired"
    DOCUMENT_NOT_ACCEPTED = "document_not_accepted"
    DOCUMENT_NOT_IN_COLOR = "document_not_in_color"
    DOCUMENT_PHOTOCOPY = "document_photocopy"
    DOCUMENT_SCREEN = "document_screen"
    DOCUMENT_NOT_TILTED = "document_not_tilted"
    DOCUMENT_DAMAGED = "document_damaged"
    MRZ_UNREADABLE = "mrz_unreadable"
    MRZ_CHECK_DIGIT_FAILED = "mrz_check_digit_failed"
    MRZ_INVALID_DATE = "mrz_invalid_date"
    MRZ_VIZ_MISMATCH = "mrz_viz_mismatch"
    HOLDER_UNDERAGE = "holder_underage"
    DECLARED_IDENTITY_MISMATCH = "declared_identity_mismatch"
    NO_FACE_DETECTED = "no_face_detected"
    MULTIPLE_FACES = "multiple_faces"
    FACE_MISMATCH = "face_mismatch"
    FACE_SWAPPED_DURING_CAPTURE = "face_swapped_during_capture"
    FACE_NOT_LIVE = "face_not_live"
    FACE_NOT_TURNED = "face_not_turned"
    NO_BLINK = "no_blink"
    FACE_SCREEN = "face_screen"
    FACE_PRINT = "face_print"
    SUSPICIOUS_CAPTURE = "suspicious_capture"
    VIDEO_UNREADABLE = "video_unreadable"
    VERIFICATION_INCOMPLETE = "verification_incomplete"
    INTERNAL_ERROR = "internal_error"

    @property
    def message_en(self) -> str:
        """Short English message for the customer or the reviewer."""
        return _MESSAGES[self][0]

    @property
    def message_fr(self) -> str:
        """Short French message for the customer or the reviewer."""
        return _MESSAGES[self][1]


_MESSAGES: dict[Reason, tuple[str, str]] = {
    Reason.DOCUMENT_BLURRY: ("The document is blurry; film it again, holding still.",
                             "Le document est flou ; filmez-le à nouveau sans bouger."),
    Reason.DOCUMENT_GLARE: ("Light reflections hide part of the document; avoid direct light.",
                            "Des reflets masquent une partie du document ; évitez la lumière directe."),
    Reason.DOCUMENT_CUT_OFF: ("Part of the document is outside the frame; show all four corners.",
                              "Une partie du document sort du cadre ; montrez les quatre coins."),
    Reason.DOCUMENT_NOT_FOUND: ("No identity document was found in the video.",
                                "Aucun document d'identité n'a été trouvé dans la vidéo."),
    Reason.DOCUMENT_EXPIRED: ("The identity document has expired.",
                              "Le document d'identité est expiré."),
    Reason.DOCUMENT_NOT_ACCEPTED: ("This type of document is not accepted.",
                                   "Ce type de document n'est pas accepté."),
    Reason.DOCUMENT_NOT_IN_COLOR: ("The document is not in colour.",
                                   "Le document n'est pas en couleur."),
    Reason.DOCUMENT_PHOTOCOPY: ("The document appears to be a photocopy.",
                                "Le document semble être une photocopie."),
    Reason.DOCUMENT_SCREEN: ("The document appears to be shown on a screen.",
                             "Le document semble être affiché sur un écran."),
    Reason.DOCUMENT_NOT_TILTED: ("The document was not tilted during the video.",
                                 "Le document n'a pas été incliné pendant la vidéo."),
    Reason.DOCUMENT_DAMAGED: ("The document is damaged or partly hidden.",
                              "Le document est abîmé ou partiellement masqué."),
    Reason.MRZ_UNREADABLE: ("The machine-readable zone could not be read.",
                            "La bande de lecture optique n'a pas pu être lue."),
    Reason.MRZ_CHECK_DIGIT_FAILED: ("The machine-readable zone's check digits do not match.",
                                    "Les chiffres de contrôle de la bande optique ne concordent pas."),
    Reason.MRZ_INVALID_DATE: ("A date in the machine-readable zone is impossible.",
                              "Une date de la bande de lecture optique est impossible."),
    Reason.MRZ_VIZ_MISMATCH: ("The printed fields differ from the machine-readable zone.",
                              "Les mentions imprimées diffèrent de la bande de lecture optique."),
    Reason.HOLDER_UNDERAGE: ("The document holder is under age.",
                             "Le titulaire du document est mineur."),
    Reason.DECLARED_IDENTITY_MISMATCH: ("The document does not match the declared identity.",
                                        "Le document ne correspond pas à l'identité déclarée."),
    Reason.NO_FACE_DETECTED: ("No face was found in the selfie video.",
                              "Aucun visage n'a été trouvé dans la vidéo selfie."),
    Reason.MULTIPLE_FACES: ("Several faces are visible; only the holder may be in frame.",
                            "Plusieurs visages sont visibles ; seul le titulaire doit apparaître."),
    Reason.FACE_MISMATCH: ("The face does not match the document's photo.",
                           "Le visage ne correspond pas à la photo du document."),
    Reason.FACE_SWAPPED_DURING_CAPTURE: ("A different person appeared during the selfie video.",
                                         "Une autre personne est apparue pendant la vidéo selfie."),
    Reason.FACE_NOT_LIVE: ("The selfie does not show a live person.",
                           "Le selfie ne montre pas une personne réelle."),
    Reason.FACE_NOT_TURNED: ("Turn your head left and right as asked.",
                             "Tournez la tête à gauche et à droite comme demandé."),
    Reason.NO_BLINK: ("No blink was seen during the selfie video.",
                      "Aucun clignement des yeux n'a été vu pendant la vidéo selfie."),
    Reason.FACE_SCREEN: ("The face appears to be shown on a screen.",
                         "Le visage semble être affiché sur un écran."),
    Reason.FACE_PRINT: ("The face appears to be a printed photo.",
                        "Le visage semble être une photo imprimée."),
    Reason.SUSPICIOUS_CAPTURE: ("The video shows signs of manipulation.",
                                "La vidéo présente des signes de manipulation."),
    Reason.VIDEO_UNREADABLE: ("A video could not be read; record it again.",
                              "Une vidéo n'a pas pu être lue ; enregistrez-la à nouveau."),
    Reason.VERIFICATION_INCOMPLETE: ("Some checks could not be run; a person will review the case.",
                                     "Certains contrôles n'ont pas pu être faits ; une personne examinera le dossier."),
    Reason.INTERNAL_ERROR: ("An internal error occurred; a person will review the case.",
                            "Une erreur interne est survenue ; une personne examinera le dossier."),
}
