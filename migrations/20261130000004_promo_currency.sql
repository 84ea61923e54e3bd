-- A fixed discount is an amount in one currency: it applies only to tickets
-- priced in it. Codes made before took EUR unless they named a ticket type.
ALTER TABLE promo_codes ADD COLUMN currency text;
UPDATE promo_codes p
   SET currency = coalesce((SELECT t.currency FROM ticket_types t WHERE t.id = p.ticket_type_id), 'EUR')
 WHERE kind = 'fixed';
ALTER TABLE promo_codes ADD CONSTRAINT promo_codes_fixed_currency
    CHECK (kind <> 'fixed' OR currency IS NOT NULL);
