"""The promotion pipeline's functions: dispatcher, gates, review-board approval, lifecycle."""
