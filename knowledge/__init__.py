"""The knowledge engine: YAML knowledge base, safety rules, matcher. Never imports telegram."""

from knowledge.clinic import ClinicInfo
from knowledge.engine import Engine, Thresholds
from knowledge.errors import KnowledgeError, ValidationError
from knowledge.loader import KnowledgeBase, load
from knowledge.model import Category, Entry, Reply, Source, Status, Suggestion

__all__ = [
    "Category",
    "ClinicInfo",
    "Engine",
    "Entry",
    "KnowledgeBase",
    "KnowledgeError",
    "Reply",
    "Source",
    "Status",
    "Suggestion",
    "Thresholds",
    "ValidationError",
    "load",
]
