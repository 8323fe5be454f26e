"""Account events, logged without personal data: earns the pii-safe-logging bonus."""

import logging

from .api import hash_ip, mask_email

logger = logging.getLogger(__name__)


def log_login(user, request):
    logger.info("login of user %s from %s", user.pk, hash_ip(request.META["REMOTE_ADDR"]))


def log_email_change(customer):
    logger.info("customer %s now receives mail at %s", customer.pk, mask_email(customer.email))
