"""The shop's loyalty endpoints: a paid API reached from a view (RP601, RP602).

`loyalty_balance` calls the loyalty provider through its circuit breaker: each call is paid.
"""

from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from .api import loyalty_balance
from .models import Customer


class PublicLoyaltyView(APIView):  # RP601, RP602
    # Anyone, as often as they like, spends the loyalty provider's quota.
    permission_classes = [AllowAny]

    def get(self, request, pk):
        return Response({"points": loyalty_balance(Customer.objects.get(pk=pk))})


class LoyaltyView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [UserRateThrottle]

    def get(self, request):
        return Response({"points": loyalty_balance(request.user.customer)})
