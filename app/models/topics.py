"""Topics (nội dung hướng dẫn): the skills a session teaches, each with a stable code."""

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db

# The seed list of DESIGN.md. The initial migration inserts a frozen copy of it.
SEED_TOPICS = (
    ("vneid", "Định danh điện tử VNeID (cài đặt, kích hoạt mức 2)",
     "VNeID electronic identity (install, level 2 activation)"),
    ("public_services", "Dịch vụ công trực tuyến", "Online public services"),
    ("cashless", "Thanh toán không dùng tiền mặt (ứng dụng ngân hàng, ví điện tử, mã QR)",
     "Cashless payment (banking apps, e-wallets, QR codes)"),
    ("ecommerce", "Thương mại điện tử (bán hàng trên sàn, quảng bá nông sản)",
     "E-commerce (selling on marketplaces, promoting farm produce)"),
    ("online_safety", "An toàn thông tin, phòng chống lừa đảo trực tuyến",
     "Online safety and scam prevention"),
    ("e_health", "Y tế số (sổ sức khỏe điện tử, đặt lịch khám)",
     "Digital health (electronic health book, booking appointments)"),
    ("basic_skills", "Kỹ năng số cơ bản (điện thoại thông minh, Internet, Zalo)",
     "Basic digital skills (smartphone, Internet, Zalo)"),
    ("digital_agriculture", "Nông nghiệp số (truy xuất nguồn gốc, thông tin thị trường)",
     "Digital agriculture (traceability, market information)"),
)  # fmt: skip


class Topic(db.Model):
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    name_vi: so.Mapped[str] = so.mapped_column(sa.String(200))
    name_en: so.Mapped[str] = so.mapped_column(sa.String(200))
    is_active: so.Mapped[bool] = so.mapped_column(default=True)
    sort_order: so.Mapped[int] = so.mapped_column(default=0)

    def name_for(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_vi

    def __repr__(self) -> str:
        return f"<Topic {self.code}>"
