"""The Pydantic model of the structured-output tests: nested and optional
fields, a list with a length limit. Imported by openai_client.py (through
the SDK, as `response_format`) and by scripts/golden_json_schema.py (whose
golden holds its `model_json_schema()`), so both use the same model."""
from typing import Optional

from pydantic import BaseModel, Field


class Address(BaseModel):
    street: str
    city: str
    postcode: Optional[str] = None


class Person(BaseModel):
    name: str
    age: int
    email: Optional[str] = None
    home: Address
    previous: Optional[Address] = None
    languages: list[str] = Field(default_factory=list, max_length=3)
