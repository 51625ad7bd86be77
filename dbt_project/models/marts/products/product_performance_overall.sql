-- marts.product_performance_overall: see macros/products.sql (product_performance) and _products.yml.
{{ product_performance(dimensions=['product_id', 'category'], by_month=false) }}
