"""Model providers: no ORM here, only talking to models."""
