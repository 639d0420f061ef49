"""DVCQG dossier status, progress and result sync (PLATFORMS.md §2).

``DossierClient`` / ``AsyncDossierClient`` talk to the portal directly;
:mod:`govlink.dossiers.outbox` puts changes through the durable outbox
(:mod:`govlink.sync`) so none is lost or applied twice.
"""

from __future__ import annotations

from govlink.dossiers.client import AsyncDossierClient, Batch, DossierClient
from govlink.dossiers.codec import (
    BatchRejectedError,
    BatchResult,
    ItemResult,
    PortalBusyError,
    SessionExpiredError,
    SyncReport,
)
from govlink.dossiers.feedback import (
    Answer,
    AnswerPush,
    PromotionStatus,
    PublicService,
    PushResult,
    Question,
    QuestionPush,
    SatisfactionStats,
    month_period,
)
from govlink.dossiers.models import (
    Agency,
    ApplicantType,
    AttachedDocument,
    ConnectedDatabase,
    Dossier,
    DossierStatus,
    Fee,
    OtherAttachment,
    OwnerIdentifier,
    Procedure,
    ProcedureField,
    ProgressRecord,
    ResultDocument,
    Supplement,
)
from govlink.dossiers.outbox import (
    AsyncDossierSink,
    DossierSink,
    dossier_change,
    enqueue_dossiers,
    enqueue_dossiers_in,
    enqueue_progress,
    enqueue_progress_in,
    progress_change,
)
from govlink.dossiers.status import IllegalTransitionError, allowed_next, check_transition

__all__ = [
    "Agency",
    "Answer",
    "AnswerPush",
    "ApplicantType",
    "AsyncDossierClient",
    "AsyncDossierSink",
    "AttachedDocument",
    "Batch",
    "BatchRejectedError",
    "BatchResult",
    "ConnectedDatabase",
    "Dossier",
    "DossierClient",
    "DossierSink",
    "DossierStatus",
    "Fee",
    "IllegalTransitionError",
    "ItemResult",
    "OtherAttachment",
    "OwnerIdentifier",
    "PortalBusyError",
    "Procedure",
    "ProcedureField",
    "ProgressRecord",
    "PromotionStatus",
    "PublicService",
    "PushResult",
    "Question",
    "QuestionPush",
    "ResultDocument",
    "SatisfactionStats",
    "SessionExpiredError",
    "Supplement",
    "SyncReport",
    "allowed_next",
    "check_transition",
    "dossier_change",
    "enqueue_dossiers",
    "enqueue_dossiers_in",
    "enqueue_progress",
    "enqueue_progress_in",
    "month_period",
    "progress_change",
]
