"""What the harness's CloudFormation models share: type, name property and GetAtt names as class data.

moto's type map (`moto.cloudformation.parsing.get_model_map`) lists only the DIRECT subclasses of
`CloudFormationModel`, so each model names both: `class X(_Model, CloudFormationModel)`.
"""

from __future__ import annotations

from typing import Any, ClassVar

def _int(value: Any) -> int | None:
    """CloudFormation passes parameter values (and often literals) as strings."""
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _strs(value: Any) -> list[str]:
    return [str(v) for v in (value or [])]


class _Deletable:
    """A moto resource plus the way to delete it (moto has none for some EC2 types).

    Deliberately NOT a CloudFormationModel: direct subclasses of that join moto's type map.
    """

    def __init__(self, inner: Any, deleter: Any) -> None:
        self._inner = inner
        self._deleter = deleter

    @property
    def physical_resource_id(self) -> str:
        return str(self._inner.physical_resource_id)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self._inner.get_cfn_attribute(attribute_name)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.ec2.models import ec2_backends

        self._deleter(self._inner, ec2_backends[account_id][region_name])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Model:
    """What the harness's models share: type, name property and GetAtt names as class data, and a
    create that hands the Properties and the resource's name to `_create`.

    A mixin, not a CloudFormationModel subclass: moto's type map lists only the DIRECT subclasses of
    CloudFormationModel, so each model names both (`class X(_Model, CloudFormationModel)`). Update and
    delete_from_cloudformation_json are left to each model: moto treats a model that does not define
    them (they stay abstract) as one it cannot update or delete that way.
    """

    TYPE: ClassVar[str]
    # The property that names the resource; "" where it has none.
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html
    NAME_PROPERTY: ClassVar[str] = ""
    # The GetAtt attribute names; None accepts any (moto's default).
    GETATT: ClassVar[frozenset[str] | None] = None

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return cls.GETATT is None or attr in cls.GETATT

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        props = cloudformation_json["Properties"]
        return cls._create(props.get(cls.NAME_PROPERTY) or resource_name, props, account_id, region_name)

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> Any:
        raise NotImplementedError(f"{cls.__name__} does not define _create")


class _Reapplied(_Model):
    """A resource that an update simply creates again (a re-registration, or a new revision)."""

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)


class _Replaced(_Model):
    """A resource that an update replaces: the old one is deleted (its `delete`), the new one created."""

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)


class _Renamable(_Model):
    """A resource kept under its name (`self.name`) with an ARN (Ref/GetAtt Arn): an update puts it
    again under the same name, and a changed name property replaces it (the old one is deleted)."""

    GETATT = frozenset({"Arn"})
    name: str
    arn: str

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "Arn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        props = cloudformation_json["Properties"]
        name = props.get(cls.NAME_PROPERTY) or original_resource.name
        if name != original_resource.name:
            original_resource.delete(account_id, region_name)
        return cls._create(name, props, account_id, region_name)


class _Wrapped:
    """A moto resource with extra GetAtt answers and a delete moto lacks.

    Deliberately NOT a CloudFormationModel: direct subclasses of that join moto's type map.
    """

    def __init__(self, inner: Any, attrs: Any = None, deleter: Any = None) -> None:
        self._inner = inner
        self._attrs = attrs  # callable(inner, name) -> value, or raises KeyError
        self._deleter = deleter

    @property
    def physical_resource_id(self) -> str:
        return str(self._inner.physical_resource_id)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if self._attrs is not None:
            try:
                return self._attrs(self._inner, attribute_name)
            except KeyError:
                pass
        return self._inner.get_cfn_attribute(attribute_name)

    def delete(self, account_id: str, region_name: str) -> None:
        if self._deleter is not None:
            self._deleter(self._inner, account_id, region_name)
        else:
            self._inner.delete(account_id, region_name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


# Resources the harness keeps itself (no moto model), per (account, region), by physical id.
STORE: dict[tuple[str, str], dict[str, _Stored]] = {}


class _Stored(_Replaced):
    """A resource of a type moto has no model for: kept with its properties, answering AWS's Ref
    (`physical_resource_id`) and GetAtt values, with its effect on moto's backends where it has one
    (`apply`, undone by `remove`). An update replaces it, as the simple way that is always right here.
    """

    # "real": `apply` creates or changes a real moto resource; "stored": the harness only keeps it.
    KIND: ClassVar[str] = "stored"

    def __init__(self, physical_id: str, props: dict[str, Any], attrs: dict[str, Any], account_id: str,
                 region_name: str) -> None:
        self.physical_id = physical_id
        self.properties = props
        self.attrs = attrs
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name in self.attrs:
            return self.attrs[attribute_name]
        raise UnformattedGetAttTemplateException()

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return cls.GETATT is None or attr in cls.GETATT

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> _Stored:
        physical_id, attrs = cls.apply(name, props, account_id, region_name)
        obj = cls(physical_id, props, attrs, account_id, region_name)
        STORE.setdefault((account_id, region_name), {})[physical_id] = obj
        return obj

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        """Make the resource's effect; return its physical id (Ref) and GetAtt values."""
        return name, {}

    def remove(self) -> None:
        """Undo `apply` (the default: nothing to undo)."""

    def delete(self, account_id: str, region_name: str) -> None:
        self.remove()
        STORE.get((account_id, region_name), {}).pop(self.physical_id, None)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        obj = STORE.get((account_id, region_name), {}).get(resource_name)
        if obj is not None:
            obj.delete(account_id, region_name)


def stored(account_id: str, region_name: str, type_name: str | None = None) -> list[_Stored]:
    """The resources the harness keeps itself (for tests and the README's 'stored' types)."""
    return [r for r in STORE.get((account_id, region_name), {}).values()
            if type_name is None or r.cloudformation_type() == type_name]
