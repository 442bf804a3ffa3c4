"""What a capture session tells the customer after each frame: a code, its texts and the progress.

The codes are part of the public contract (a client may show its own texts); `TEXTS` holds the
engine's own, in English and in French, in one table as `kycengine.reasons` does for verdicts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..records import Record


class Guidance(str, enum.Enum):
    """What to do now; stable lowercase values."""

    # the document
    SHOW_DOCUMENT = "show_document"  # no document seen yet
    DOCUMENT_FOUND = "document_found"  # seen whole and sharp: hold it there while it is read
    MOVE_CLOSER = "move_closer"
    WHOLE_CARD = "whole_card"  # the document runs off the frame
    HOLD_STILL = "hold_still"  # blurred: moving, or out of focus
    GLARE_MRZ = "glare_mrz"
    TILT_CARD = "tilt_card"  # read: tilt it now
    MRZ_READ = "mrz_read"
    # the selfie
    SHOW_FACE = "show_face"  # no face seen
    ONE_FACE = "one_face"  # someone else is in the frame
    FACE_CAMERA = "face_camera"
    TURN_LEFT = "turn_left"  # the image's left: the customer's own right
    TURN_RIGHT = "turn_right"
    BLINK = "blink"
    SENDING = "sending"  # the challenge is over: the recording is being sent and checked
    # both
    DONE = "done"
    TRY_AGAIN = "try_again"  # the session closed without enough: start a new one


TEXTS: dict[Guidance, tuple[str, str]] = {
    Guidance.SHOW_DOCUMENT: ("Show the front of your identity card, or the photo page of your passport.",
                             "Montrez le recto de votre carte d'identité, ou la page photo de votre passeport."),
    Guidance.DOCUMENT_FOUND: ("Document found. Hold it there.", "Document trouvé. Gardez-le ainsi."),
    Guidance.MOVE_CLOSER: ("Move the document closer.", "Approchez le document."),
    Guidance.WHOLE_CARD: ("Keep the whole document in view, its four corners visible.",
                          "Gardez tout le document dans le cadre, ses quatre coins visibles."),
    Guidance.HOLD_STILL: ("Hold still: the picture is blurred.", "Ne bougez plus : l'image est floue."),
    Guidance.GLARE_MRZ: ("A reflection covers the lines at the bottom: tilt the document away from the light.",
                         "Un reflet couvre les lignes du bas : inclinez le document à l'écart de la lumière."),
    Guidance.TILT_CARD: ("Now tilt the document slowly back and forth.",
                         "Inclinez maintenant lentement le document d'avant en arrière."),
    Guidance.MRZ_READ: ("The lines at the bottom are read.", "Les lignes du bas sont lues."),
    Guidance.SHOW_FACE: ("Put your face in the frame.", "Placez votre visage dans le cadre."),
    Guidance.ONE_FACE: ("Make sure you are alone in the frame.", "Assurez-vous d'être seul dans le cadre."),
    Guidance.FACE_CAMERA: ("Look straight at the camera.", "Regardez droit vers la caméra."),
    Guidance.TURN_LEFT: ("Turn your head slowly to your right, then back.",
                         "Tournez lentement la tête vers votre droite, puis revenez."),
    Guidance.TURN_RIGHT: ("Turn your head slowly to your left, then back.",
                          "Tournez lentement la tête vers votre gauche, puis revenez."),
    Guidance.BLINK: ("Blink now.", "Clignez des yeux maintenant."),
    Guidance.SENDING: ("Sending your video...", "Envoi de votre vidéo..."),
    Guidance.DONE: ("Done, thank you.", "C'est terminé, merci."),
    Guidance.TRY_AGAIN: ("That did not work. Please start again.", "Cela n'a pas fonctionné. Veuillez recommencer."),
}


def text(code: Guidance, language: str) -> str:
    """The code's text in 'fr' or 'en' (English for any other language)."""
    english, french = TEXTS[code]
    return french if language == "fr" else english


@dataclass(frozen=True)
class Feedback(Record):
    """The session's answer to one frame: what to do, how far along it is (0..1, never going back),
    whether it has closed (done, or not: TRY_AGAIN), and for the document the MRZ's vote
    confidence once read (the weakest character's lead of its best glyph over the next, per frame)."""

    code: Guidance
    progress: float
    closed: bool = False
    mrz_confidence: float | None = None
