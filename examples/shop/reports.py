"""Sales reports of the example shop: N+1 loops and repeated counts beside their fixes (RP4xx)."""

from django.db.models import Count, Prefetch, Q, Sum
from django.http import JsonResponse

from .models import Order, OrderLine, Product, Review


def order_report(request):
    """One query for the orders, then one more per order for its customer and per line for its product."""
    rows = []
    for order in Order.objects.filter(status="paid").order_by("-created")[:100]:
        lines = [(line.product.name, line.quantity) for line in order.lines.all()]  # RP401, RP401
        rows.append({"customer": order.customer.email, "lines": lines})  # RP401
    return JsonResponse({"orders": rows})


def order_report_fast(request):
    """Three queries whatever the number of orders."""
    orders = (
        Order.objects.filter(status="paid")
        .select_related("customer")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("product")))
        .order_by("-created")[:100]
    )
    rows = []
    for order in orders:
        lines = [(line.product.name, line.quantity) for line in order.lines.all()]
        rows.append({"customer": order.customer.email, "customer_id": order.customer_id, "lines": lines})
    return JsonResponse({"orders": rows})


def catalogue(request):
    products = Product.objects.all()
    return JsonResponse(
        {
            "products": [
                {"name": p.name, "category": p.category.name, "reviews": p.reviews.count()}  # RP401, RP401
                for p in products
            ]
        }
    )


def catalogue_fast(request):
    products = Product.objects.select_related("category").annotate(n_reviews=Count("reviews"))
    return JsonResponse(
        {"products": [{"name": p.name, "category": p.category.name, "reviews": p.n_reviews} for p in products]}
    )


def top_review(product):
    return product.reviews.order_by("-upvotes").first()  # RP401


def featured(request):
    return JsonResponse({"featured": [str(top_review(p)) for p in Product.objects.filter(stock__gt=0)]})


def order_stats(request):
    """Four round trips over the same table."""
    stats = {
        "all": Order.objects.count(),  # RP402
        "new": Order.objects.filter(status="new").count(),
        "paid": Order.objects.filter(status="paid").count(),
        "cancelled": Order.objects.filter(status="cancelled").exists(),
    }
    return JsonResponse(stats)


def order_stats_fast(request):
    """One query."""
    return JsonResponse(
        Order.objects.aggregate(
            all=Count("id"),
            new=Count("id", filter=Q(status="new")),
            paid=Count("id", filter=Q(status="paid")),
            cancelled=Count("id", filter=Q(status="cancelled")),
        )
    )


def review_totals(request):
    # Per-product values come from one grouped query: nothing is fetched per row.
    totals = Review.objects.values("product_id").annotate(votes=Sum("upvotes"))
    return JsonResponse({"totals": {row["product_id"]: row["votes"] for row in totals}})
