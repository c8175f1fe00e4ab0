-- market: a trade that is its buy order's last settles that order too (the rest of the buy's
-- hold returns to the buyer in the trade's own journal entry, and the order lets go), and one
-- that is its sell order's last lets the sell go once its shares are delivered; both orders'
-- owners are told then. Written when the auction clears.
ALTER TABLE market_trades
    ADD COLUMN closes_buy boolean NOT NULL DEFAULT false,
    ADD COLUMN closes_sell boolean NOT NULL DEFAULT false;
