"""A small Django project in which two real rules find one problem each in shop/views.py: RP301 (a blocker)
logs an email address, RP304 (a warning) swallows every error. The adapters' tests `--select` these two
codes, so that rules added later do not change what they expect."""

from __future__ import annotations

from sample_rules import PROJECT

#: The two rules the project is made for; the tests select them by code.
SELECT = "RP301,RP304"

SHOP = {
    **{name: PROJECT[name] for name in ("manage.py", "shop/__init__.py", "shop/models.py", "shop/services.py")},
    "shop/alerts.py": "from django.core.mail import mail_admins\n\n\n"
    "def notify_admins(request):\n    mail_admins('signup failed', request.path)\n",
    "shop/views.py": (
        "import logging\n"
        "\n"
        "from django.http import JsonResponse\n"
        "\n"
        "from .alerts import notify_admins\n"
        "\n"
        "logger = logging.getLogger(__name__)\n"
        "\n"
        "\n"
        "def signup(request):\n"
        "    email = request.POST.get('email', '')\n"
        "    logger.info('signup from %s', email)\n"  # RP301, line 12
        "    try:\n"
        "        request.user.profile.save()\n"
        "    except Exception:\n"  # RP304, line 15
        "        notify_admins(request)\n"
        "    return JsonResponse({'ok': True})\n"
    ),
}

#: A view module with one RP304, line 4, for the tests that need more files.
SWALLOWING = "def charge(order):\n    try:\n        order.pay()\n    except Exception:\n        pass\n"
