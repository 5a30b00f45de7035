"""The press service: the 2-hour initial information of Art. 7.6.d,
statements to the press and publication of handling results (Art. 6.6)."""
