"""The printed documents: reportlab layouts, fonts, QR codes, the print path (hallapp.printing)."""
