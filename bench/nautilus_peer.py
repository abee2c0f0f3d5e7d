"""The nautilus_trader names the book benchmark uses, gathered so that one import can fail cleanly.

Not a benchmark itself (``make bench`` runs it as a no-op import).
"""

from nautilus_trader import __version__ as VERSION  # noqa: N812
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.enums import BookType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity

__all__ = [
    "VERSION",
    "BookOrder",
    "BookType",
    "InstrumentId",
    "OrderBook",
    "OrderSide",
    "Price",
    "Quantity",
]
