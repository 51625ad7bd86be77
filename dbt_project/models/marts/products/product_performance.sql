-- marts.product_performance: see macros/products.sql (product_performance) and _products.yml.
{{ product_performance(dimensions=['product_id', 'category'], by_month=true) }}
