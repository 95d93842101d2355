// The currencies Stripe accepts for payments (https://docs.stripe.com/currencies,
// "Presentment currencies"). Anything else, e.g. `zzz`, is Stripe's 400 on
// `currency`: the sandbox must not accept what Stripe refuses.

import { errors } from './stripeErrors.js';

const SUPPORTED = new Set(
  (
    'usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd cad cdf chf ' +
    'clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils ' +
    'inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk ' +
    'mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp ' +
    'sle sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw'
  ).split(' '),
);

/** The lower-cased currency, or Stripe's 400 naming `param`. */
export function requireCurrency(raw: string, param = 'currency'): string {
  const currency = raw.toLowerCase();
  if (!SUPPORTED.has(currency)) {
    throw errors.parameterInvalid(param, `Invalid currency: ${raw}. Stripe currently supports these currencies: ${[...SUPPORTED].join(', ')}`);
  }
  return currency;
}
