"""Rule data shipped with the product (one TOML file per jurisdiction), and its loader."""
