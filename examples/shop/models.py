"""The example shop: customers, products, orders and reviews."""

from django.conf import settings
from django.db import models


class Customer(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer")
    email = models.EmailField()
    phone = models.CharField(max_length=32, blank=True)
    loyalty_points = models.IntegerField(default=0)
    referral_code = models.CharField(max_length=20)


class Category(models.Model):
    name = models.CharField(max_length=100)


class Product(models.Model):
    name = models.CharField(max_length=200)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.IntegerField(default=0)
    view_count = models.IntegerField(default=0)


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    status = models.CharField(max_length=20, default="new")
    created = models.DateTimeField(auto_now_add=True)
    note = models.TextField(default="")
    coupon = models.CharField(max_length=20)
    channel = models.CharField(max_length=20)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    quantity = models.IntegerField()


class Review(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    body = models.TextField()
    upvotes = models.IntegerField(default=0)
    rating = models.PositiveSmallIntegerField()
    language = models.CharField(max_length=8)
