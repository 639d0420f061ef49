"""build → parse is lossless, for any package the models can hold (property-based)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govlink.core.clock import VN_TZ
from govlink.documents.edxml import (
    Appendixes,
    Attachment,
    Business,
    Code,
    DocumentType,
    EdxmlPackage,
    MessageHeader,
    Organization,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusMessage,
    ToPlaces,
    TraceHeader,
    TraceHeaderList,
    build_package,
    build_status,
    parse_package,
    parse_status,
)

# XML 1.0 characters only (no controls other than tab/newline, no surrogates);
# "\r" is included: it must survive as &#13; and come back.
text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
    | st.sampled_from(["\n", "\t", "\r", "&", "<", ">", '"', "đ", "Ư"]),
    max_size=20,
)
opt_text = st.none() | text
codes = st.from_regex(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}", fullmatch=True)
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)).map(
    lambda d: d.replace(microsecond=0, tzinfo=VN_TZ)
)
unknown = st.lists(
    st.sampled_from(
        [
            '<Extra xmlns="urn:vendor">x</Extra>',
            '<v:Flag xmlns:v="urn:vendor" v:on="1"/>',
            '<Note xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">ghi chú</Note>',
        ]
    ),
    max_size=2,
)

organizations = st.builds(
    Organization,
    organ_id=st.none() | codes,
    organ_name=opt_text,
    email=opt_text,
    telephone=opt_text,
    unknown_elements=unknown,
)
headers = st.builds(
    MessageHeader,
    from_=st.none() | organizations,
    to=st.lists(organizations, max_size=3),
    document_id=opt_text,
    code=st.none() | st.builds(Code, code_number=opt_text, code_notation=opt_text),
    promulgation_info=st.none()
    | st.builds(PromulgationInfo, place=opt_text, promulgation_date=st.none() | days | text),
    document_type=st.none()
    | st.builds(DocumentType, type=opt_text, type_detail=opt_text, type_name=opt_text),
    subject=opt_text,
    content=opt_text,
    signer_info=st.none()
    | st.builds(SignerInfo, competence=opt_text, position=opt_text, full_name=opt_text),
    due_date=st.none() | days,
    other_info=st.none()
    | st.builds(
        OtherInfo,
        priority=opt_text,
        page_amount=opt_text,
        direction=opt_text,
        appendixes=st.none() | st.builds(Appendixes, appendix=st.lists(text, max_size=2)),
    ),
    steering_type=opt_text,
    to_places=st.none() | st.builds(ToPlaces, place=st.lists(text, max_size=3)),
    response_for=st.lists(
        st.builds(
            ResponseFor,
            organ_id=opt_text,
            code=opt_text,
            document_id=opt_text,
            promulgation_date=st.none() | days,
        ),
        max_size=2,
    ),
    unknown_elements=unknown,
)
traces = st.builds(
    TraceHeaderList,
    trace_header=st.lists(
        st.builds(TraceHeader, organ_id=opt_text, timestamp=st.none() | moments), max_size=2
    ),
    business=st.none()
    | st.builds(
        Business,
        business_doc_type=opt_text,
        business_doc_reason=opt_text,
        staff_info=st.none() | st.builds(StaffInfo, staff=opt_text, mobile=opt_text),
    ),
    attributes=st.sampled_from([{}, {"id": "a1b2", "version": "1.0", "mustUnderstand": "1"}]),
)
contents = st.lists(st.binary(max_size=300), max_size=3)


@st.composite
def packages(draw: st.DrawFn) -> EdxmlPackage:
    package = EdxmlPackage(
        message_header=draw(headers),
        trace_header_list=draw(st.none() | traces),
        header_unknown=draw(unknown),
        body_unknown=draw(unknown),
    )
    for index, data in enumerate(draw(contents)):
        package.add_attachment(
            Attachment.from_bytes(
                data,
                name=draw(text.filter(bool)) or f"f{index}",
                content_type=draw(st.sampled_from(["application/pdf", "text/plain"])),
                description=draw(opt_text),
            )
        )
    return package


@settings(
    max_examples=60,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
@given(packages())
def test_build_parse_round_trip_is_lossless(package: EdxmlPackage) -> None:
    data = build_package(package)
    parsed = parse_package(data)
    assert parsed.model_dump() == package.model_dump()
    assert [a.read_bytes() for a in parsed.attachments] == [
        a.read_bytes() for a in package.attachments
    ]
    # and writing it again gives the same bytes (attachments re-emitted as received)
    assert build_package(parsed) == data


@settings(max_examples=40, deadline=timedelta(seconds=2), database=None)
@given(
    st.builds(
        StatusMessage,
        response_for=st.none()
        | st.builds(ResponseFor, organ_id=st.none() | codes, document_id=opt_text),
        from_=st.none() | organizations,
        status_code=st.none() | st.sampled_from(["01", "03", "06", "99", "42"]),
        description=opt_text,
        timestamp=st.none() | moments,
        staff_info=st.none() | st.builds(StaffInfo, department=opt_text, email=opt_text),
        unknown_elements=unknown,
    )
)
def test_status_round_trip_keeps_unknown_codes(status: StatusMessage) -> None:
    parsed = parse_status(build_status(status))
    assert parsed.model_dump() == status.model_dump()


def test_unknown_status_code_is_kept_and_labelled() -> None:
    code = StatusCode("42")
    assert code.value == "42"
    assert not code.known
    assert "unknown" in code.label
    assert StatusCode("06") is StatusCode.COMPLETED
    assert StatusCode.COMPLETED.label.startswith("completed")
