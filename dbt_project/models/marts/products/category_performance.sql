-- marts.category_performance: see macros/products.sql (product_performance) and _products.yml.
{{ product_performance(dimensions=['category'], by_month=true) }}
