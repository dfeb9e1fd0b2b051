"""Identity numbers are masked in every log line the core writes."""

import logging

from nongxin.core.logmask import IdentityMaskFilter, install_on_handlers, mask_text

RESIDENT_ID = "11010519491231002X"
USCC = "91350100M000100Y43"


def test_a_logged_identity_number_is_masked(nongxin_app, caplog):
    caplog.set_level(logging.INFO)
    try:
        raise ValueError(f"duplicate key (id_number)=({RESIDENT_ID})")
    except ValueError:
        logging.getLogger("nongxin.bureau").exception("query for %s failed, firm %s", RESIDENT_ID, USCC)
    logging.getLogger("nongxin").warning("subject 王农%s", RESIDENT_ID.lower())
    logging.getLogger("sqlalchemy.engine").info("[parameters: ('%s',)]", RESIDENT_ID)
    text = caplog.text
    assert RESIDENT_ID not in text and RESIDENT_ID.lower() not in text and USCC not in text
    assert "110105********002X" in text and "duplicate key" in text
    assert "91350100******0Y43" in text


def test_the_serve_handlers_mask_records_of_any_logger(tmp_path):
    logger = logging.getLogger("test.logmask.isolated")
    logger.propagate = False
    handler = logging.FileHandler(tmp_path / "server.log", encoding="utf-8")
    logger.addHandler(handler)
    try:
        install_on_handlers(logger)
        assert any(isinstance(f, IdentityMaskFilter) for f in handler.filters)
        logger.error("waitress saw %s", RESIDENT_ID)
    finally:
        logger.removeHandler(handler)
        handler.close()
    written = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert RESIDENT_ID not in written and "110105********002X" in written


def test_numbers_that_are_not_identities_are_left_alone():
    assert mask_text("request 1234567 took 12 ms; amount 1047.29") == "request 1234567 took 12 ms; amount 1047.29"
    assert mask_text("ids 110105194912310021,") == "ids 110105********0021,"
