"""The application form as PDF (text extractable): the member signs, seals and posts it."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from ingest.accounts.models import Application, ApplicationKind, utc
from ingest.localtime import BERLIN

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core


def _font(pdf: FPDF) -> str:
    if (DEJAVU / "DejaVuSans.ttf").is_file() and (DEJAVU / "DejaVuSans-Bold.ttf").is_file():
        pdf.add_font("DejaVu", "", str(DEJAVU / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(DEJAVU / "DejaVuSans-Bold.ttf"))
        return "DejaVu"
    return "Helvetica"  # the core font covers the German letters (cp1252)


def application_pdf(application: Application, member_name: str, fund_address: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    font = _font(pdf)
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: int = 11, bold: bool = False, height: float = 6) -> None:
        pdf.set_font(font, "B" if bold else "", size)
        pdf.multi_cell(width, height, text, new_x="LMARGIN", new_y="NEXT")

    for address_line in fund_address.splitlines():
        line(address_line, 10, height=5)
    pdf.ln(8)
    administrator = application.kind == ApplicationKind.ADMINISTRATOR
    line(
        "Antrag auf Zugang zum Online-Portal als "
        + ("Administrator" if administrator else "Rechenzentrum"),
        14,
        bold=True,
    )
    pdf.ln(2)
    line(f"Antragsnummer: {application.number}", bold=True)
    line(f"Datum: {utc(application.created_at).astimezone(BERLIN):%d.%m.%Y}")
    pdf.ln(3)
    line(f"Antragsteller: {application.first_name} {application.last_name}")
    line(f"E-Mail-Adresse: {application.email}")
    if application.phone:
        line(f"Telefon: {application.phone}")
    if administrator:
        line(f"Mitgliedsnummer: {application.member_number}")
        line(f"Mitglied: {member_name or '(bitte eintragen)'}")
        line(f"Abrechnungsstellen: {application.offices.replace(',', ', ')}")
        text = (
            "Hiermit benennen wir die oben genannte Person als Administrator für das Online-Portal "
            "der Zusatzversorgungskasse. Der Administrator verwaltet die Zugänge der "
            "Sachbearbeiter für die genannten Abrechnungsstellen; er selbst erhält keine Rechte "
            "für die Servicefunktionen."
        )
    else:
        line(f"Rechenzentrum: {application.center_name}")
        line(f"Betriebsnummer: {application.betriebsnummer}")
        text = (
            "Hiermit beantragen wir den Zugang zum Online-Portal der Zusatzversorgungskasse für "
            "das Hochladen von Meldedateien für die Mitglieder, für die uns die Kasse berechtigt."
        )
    pdf.ln(4)
    line(text)
    pdf.ln(14)
    line("______________________________        ______________________________")
    line("Ort, Datum                                        Unterschrift der Geschäftsleitung", 9)
    pdf.ln(10)
    pdf.set_font(font, "", 9)
    pdf.cell(70, 35, "Dienstsiegel", border=1, align="C")
    pdf.ln(40)
    line(
        "Bitte unterschreiben und siegeln Sie den Antrag und senden Sie ihn per Post an die "
        "oben genannte Anschrift der Kasse.",
        9,
    )
    return bytes(pdf.output())
