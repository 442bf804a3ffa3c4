"""The capture page's own texts in English and French (the guidance's come from `kycengine.capture`)."""

from __future__ import annotations

from kycengine.capture import Guidance, text

LANGUAGES = ("fr", "en")

PAGE: dict[str, tuple[str, str]] = {
    "title": ("Identity check", "Vérification d'identité"),
    "intro": ("We film your identity document, then your face. Follow the instructions under the picture "
              "and watch the progress bar: this can take a little while.",
              "Nous filmons votre pièce d'identité, puis votre visage. Suivez les consignes sous l'image et "
              "regardez la barre de progression : cela peut prendre un petit moment."),
    "document": ("1. Your identity document", "1. Votre pièce d'identité"),
    "selfie": ("2. Your face", "2. Votre visage"),
    "start_document": ("Film my document", "Filmer ma pièce d'identité"),
    "start_selfie": ("Film my face", "Filmer mon visage"),
    "selfie_intro": ("Use the front camera, face it, and follow the instructions: turn your head when asked, "
                     "blink when asked.",
                     "Utilisez la caméra avant, regardez-la et suivez les consignes : tournez la tête quand "
                     "on vous le demande, clignez des yeux quand on vous le demande."),
    "progress": ("Progress", "Progression"),
    "again": ("Start this step again", "Recommencer cette étape"),
    "camera_error": ("The camera could not be opened: allow this page to use it, then try again.",
                     "La caméra n'a pas pu être ouverte : autorisez cette page à l'utiliser, puis réessayez."),
    "no_recorder": ("This browser cannot record a video: open this link in an up-to-date browser.",
                    "Ce navigateur ne peut pas enregistrer de vidéo : ouvrez ce lien dans un navigateur à jour."),
    "busy": ("Many people are filming right now: try again in a moment.",
             "Beaucoup de personnes filment en ce moment : réessayez dans un instant."),
    "expired": ("This link has expired. Ask your bank for a new one.",
                "Ce lien a expiré. Demandez-en un nouveau à votre banque."),
    "error": ("Something went wrong. Try again in a moment.", "Un problème est survenu. Réessayez dans un instant."),
    "outcome": ("Result", "Résultat"),
    "checking": ("Thank you. We are checking your documents…", "Merci. Nous vérifions vos documents…"),
    "approved": ("Your identity is verified.", "Votre identité est vérifiée."),
    "in_review": ("A person will check your documents within 72 hours. Your bank will tell you the result.",
                  "Une personne va vérifier vos documents sous 72 heures. Votre banque vous donnera le résultat."),
    "retry_required": ("We could not check everything: your bank will ask you to film again.",
                       "Nous n'avons pas pu tout vérifier : votre banque vous demandera de filmer à nouveau."),
    "refused": ("We could not verify your identity. Your bank will contact you.",
                "Nous n'avons pas pu vérifier votre identité. Votre banque vous contactera."),
    "failed": ("Your capture could not be processed. Your bank will contact you.",
               "Votre capture n'a pas pu être traitée. Votre banque vous contactera."),
    "language": ("Français", "English"),
}


def page_texts(language: str) -> dict[str, str]:
    """The page's texts and every guidance code's, in `language`."""
    index = 1 if language == "fr" else 0
    texts = {key: pair[index] for key, pair in PAGE.items()}
    texts.update({f"guidance.{code.value}": text(code, language) for code in Guidance})
    return texts


def choose(asked: str | None, accept_language: str, default: str) -> str:
    """`?lang=` when it is one of ours, else the capture's language if set, else the browser's first."""
    if asked in LANGUAGES:
        return asked
    if default in LANGUAGES:
        return default
    first = accept_language.split(",")[0].strip().lower()
    return "fr" if first.startswith("fr") else "en"
