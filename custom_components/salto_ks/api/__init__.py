"""Asynchronous client of the Salto KS Connect API (no Home Assistant dependency).

Every public name is re-exported here in the ``from … import X as X`` form (typing's explicit
re-export), one per line.
"""

from .auth import Credentials as Credentials
from .auth import TokenManager as TokenManager
from .client import SaltoKSClient as SaltoKSClient
from .const import ACCEPT_API as ACCEPT_API
from .const import ACCEPT_AUTH_URL as ACCEPT_AUTH_URL
from .const import ACCEPT_STREAM_URL as ACCEPT_STREAM_URL
from .const import DEFAULT_REQUEST_TIMEOUT as DEFAULT_REQUEST_TIMEOUT
from .const import LEGACY_API_BASE as LEGACY_API_BASE
from .const import LEGACY_AUTH_URL as LEGACY_AUTH_URL
from .const import PRODUCTION_API as PRODUCTION_API
from .const import PRODUCTION_AUTH_URL as PRODUCTION_AUTH_URL
from .const import PRODUCTION_STREAM_URL as PRODUCTION_STREAM_URL
from .const import SCOPE as SCOPE
from .enums import BatteryLevel as BatteryLevel
from .enums import DataSyncState as DataSyncState
from .enums import EventCategory as EventCategory
from .enums import LockedState as LockedState
from .exceptions import ApiNotEnabledError as ApiNotEnabledError
from .exceptions import AuthenticationError as AuthenticationError
from .exceptions import CommunicationError as CommunicationError
from .exceptions import InvalidRequestError as InvalidRequestError
from .exceptions import InvalidResponseError as InvalidResponseError
from .exceptions import LockUnavailableError as LockUnavailableError
from .exceptions import NotFoundError as NotFoundError
from .exceptions import OtpBlockedError as OtpBlockedError
from .exceptions import OtpInvalidError as OtpInvalidError
from .exceptions import OtpRequiredError as OtpRequiredError
from .exceptions import PermissionDeniedError as PermissionDeniedError
from .exceptions import RateLimitedError as RateLimitedError
from .exceptions import SaltoKSError as SaltoKSError
from .exceptions import StreamClosedError as StreamClosedError
from .exceptions import TokenRejectedError as TokenRejectedError
from .exceptions import UnsupportedOperationError as UnsupportedOperationError
from .models import AccessGroup as AccessGroup
from .models import EasyOfficeModeSchedule as EasyOfficeModeSchedule
from .models import Entry as Entry
from .models import Guest as Guest
from .models import Iq as Iq
from .models import IqActivation as IqActivation
from .models import Lock as Lock
from .models import LockIq as LockIq
from .models import Site as Site
from .models import SiteUser as SiteUser
from .models import Subscription as Subscription
from .models import TimeSchedule as TimeSchedule
from .models import TokenResponse as TokenResponse
from .models import UserKey as UserKey
from .ratelimit import RetryGate as RetryGate
from .stream import EntryStreamClient as EntryStreamClient
