"""The message catalogue of the web pages: every user-facing string, in Vietnamese and English.

Pages are Vietnamese by default; ``?lang=en`` switches to English (remembered in the
``socai_lang`` cookie, see :mod:`api.web`). Templates call ``t("key")`` (bound to the page's
language); Python code calls :func:`t` with the language. A key missing from the catalogue
raises :class:`KeyError` (a test renders every page in both languages, so a typo fails there,
not in front of a user). Placeholders use :meth:`str.format` names: ``t("x", lang, n=3)``.

Adding keys: append to :data:`MESSAGES` (one entry per key, both languages; keys are grouped
by page with a prefix: ``nav.``, ``login.``, ``home.``, ``gb.`` (grade book), ``pr.``
(principal), ``iss.`` (issuance), ``rec.`` (record), ``err.`` (refusals), then the public
and inspector pages' own prefixes).
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT", "LANGUAGES", "MESSAGES", "t"]

LANGUAGES: Final = ("vi", "en")
DEFAULT: Final = "vi"

#: key -> {language: text}
MESSAGES: dict[str, dict[str, str]] = {
    # -- the frame of every page ----------------------------------------------------------------
    "app.name": {"vi": "Sổ Cái", "en": "Sổ Cái"},
    "app.tagline": {
        "vi": "Sổ điểm và học bạ số có chữ ký",
        "en": "Signed grade books and digital transcripts",
    },
    "app.footer": {
        "vi": "Mỗi thay đổi được người thực hiện ký số và ghi vào sổ cái công khai.",
        "en": "Every change is signed by the person who made it and logged in a public ledger.",
    },
    "nav.home": {"vi": "Trang chính", "en": "Home"},
    "nav.login": {"vi": "Đăng nhập", "en": "Log in"},
    "nav.logout": {"vi": "Đăng xuất", "en": "Log out"},
    "nav.verify": {"vi": "Xác minh học bạ", "en": "Verify a transcript"},
    "nav.principal": {"vi": "Hiệu trưởng", "en": "Principal"},
    "nav.inspect": {"vi": "Thanh tra", "en": "Inspection"},
    "nav.language": {"vi": "Ngôn ngữ", "en": "Language"},
    "nav.skip": {"vi": "Bỏ qua đến nội dung", "en": "Skip to content"},
    "nav.signed_in_as": {"vi": "Đang đăng nhập: {name}", "en": "Signed in as {name}"},
    "lang.vi": {"vi": "Tiếng Việt", "en": "Tiếng Việt"},
    "lang.en": {"vi": "English", "en": "English"},
    # -- log-in ---------------------------------------------------------------------------------
    "login.title": {"vi": "Đăng nhập", "en": "Log in"},
    "login.username": {"vi": "Tên đăng nhập", "en": "User name"},
    "login.password": {"vi": "Mật khẩu", "en": "Password"},
    "login.totp": {"vi": "Mã xác thực (6 chữ số)", "en": "Authentication code (6 digits)"},
    "login.totp_help": {
        "vi": "Tài khoản này dùng xác thực hai lớp: nhập mã trong ứng dụng xác thực.",
        "en": "This account uses two-factor authentication: enter the code from your app.",
    },
    "login.submit": {"vi": "Đăng nhập", "en": "Log in"},
    "login.failed": {
        "vi": "Sai tên đăng nhập, mật khẩu hoặc mã xác thực.",
        "en": "Wrong user name, password or code.",
    },
    "login.totp_required": {
        "vi": "Cần mã xác thực hai lớp: nhập mã 6 chữ số.",
        "en": "A two-factor code is needed: enter the 6-digit code.",
    },
    "login.locked": {
        "vi": "Tài khoản tạm khóa do đăng nhập sai nhiều lần. Thử lại sau {seconds} giây.",
        "en": "The account is locked after failed log-ins. Try again in {seconds} seconds.",
    },
    "login.rate_limited": {
        "vi": "Quá nhiều lần đăng nhập từ máy này. Vui lòng thử lại sau {seconds} giây.",
        "en": "Too many log-in attempts from this computer. Please try again in {seconds} s.",
    },
    "login.expired_form": {
        "vi": "Biểu mẫu đã hết hạn; vui lòng đăng nhập lại.",
        "en": "The form expired; please log in again.",
    },
    "login.logged_out": {"vi": "Bạn đã đăng xuất.", "en": "You are logged out."},
    # -- home -----------------------------------------------------------------------------------
    "home.title": {"vi": "Trang chính", "en": "Home"},
    "home.welcome": {"vi": "Xin chào, {name}", "en": "Welcome, {name}"},
    "home.anonymous_lead": {
        "vi": "Sổ Cái giữ sổ điểm, học bạ và hồ sơ cán bộ của nhà trường; mỗi thay đổi "
        "đều có chữ ký số của người thực hiện.",
        "en": "Sổ Cái keeps a school's grade books, transcripts and staff files; every "
        "change carries the digital signature of the person who made it.",
    },
    "home.staff_login": {"vi": "Cán bộ, giáo viên: đăng nhập", "en": "Staff: log in"},
    "home.verify_lead": {
        "vi": "Trường đại học, đơn vị tiếp nhận: xác minh một học bạ số (PDF)",
        "en": "Universities and receiving schools: verify a digital transcript (PDF)",
    },
    "home.my_classes": {"vi": "Lớp của tôi", "en": "My classes"},
    "home.year": {"vi": "Năm học {year}", "en": "School year {year}"},
    "home.current": {"vi": "năm học hiện tại", "en": "current year"},
    "home.no_classes": {
        "vi": "Bạn chưa được phân công lớp nào.",
        "en": "You are not assigned to any class.",
    },
    "home.homeroom": {"vi": "Chủ nhiệm", "en": "Homeroom"},
    "home.subjects": {"vi": "Môn: {subjects}", "en": "Subjects: {subjects}"},
    "home.principal_lead": {
        "vi": "Phê duyệt đính chính, khóa sổ học kỳ và cấp học bạ số hàng loạt.",
        "en": "Approve corrections, close terms and issue transcripts in bulk.",
    },
    "home.principal_open": {"vi": "Mở trang Hiệu trưởng", "en": "Open the principal's page"},
    "home.school_classes": {"vi": "Các lớp của trường", "en": "The school's classes"},
    "home.inspector_lead": {
        "vi": "Các trường bạn được giao thanh tra (chỉ đọc):",
        "en": "The schools you inspect (read-only):",
    },
    "home.no_schools": {"vi": "Chưa được giao trường nào.", "en": "No school assigned."},
    "home.school": {"vi": "Trường {code}", "en": "School {code}"},
    "home.no_rights": {
        "vi": "Tài khoản này chưa có quyền nào trong hồ sơ cán bộ.",
        "en": "This account has no rights in its staff file yet.",
    },
    # -- grade book -----------------------------------------------------------------------------
    "gb.title": {"vi": "Sổ điểm lớp {cls} – năm học {year}", "en": "Grade book {cls}, {year}"},
    "gb.readonly": {
        "vi": "Bạn xem cả lớp (chủ nhiệm); chỉ giáo viên bộ môn nhập điểm môn của mình.",
        "en": "You see the whole class (homeroom); subject teachers enter their own scores.",
    },
    "gb.view_only": {"vi": "Chỉ xem.", "en": "Read-only."},
    "gb.my_subjects": {"vi": "Các môn tôi dạy", "en": "My subjects"},
    "gb.summary": {"vi": "Tổng hợp ĐTB", "en": "Averages"},
    "gb.summary_help": {
        "vi": "Điểm trung bình môn học kỳ (ĐTBmhk) của các môn đánh giá bằng điểm số, khi đã "
        "đủ điểm; ô trống: chưa đủ điểm.",
        "en": "Term averages of the subjects assessed with scores, once every score is in; "
        "an empty box: scores still missing.",
    },
    "gb.student": {"vi": "Học sinh", "en": "Student"},
    "gb.code": {"vi": "Mã HS", "en": "Student code"},
    "gb.subject": {"vi": "Môn học", "en": "Subject"},
    "gb.term": {"vi": "Học kỳ", "en": "Term"},
    "gb.term_n": {"vi": "HK{n}", "en": "T{n}"},
    "gb.term_closed": {"vi": "đã khóa sổ", "en": "closed"},
    "gb.term_open": {"vi": "đang mở", "en": "open"},
    "gb.kind": {"vi": "Loại điểm", "en": "Kind"},
    "gb.kind.tx": {"vi": "ĐĐGtx (thường xuyên)", "en": "Regular (tx)"},
    "gb.kind.gk": {"vi": "ĐĐGgk (giữa kỳ)", "en": "Midterm (gk)"},
    "gb.kind.ck": {"vi": "ĐĐGck (cuối kỳ)", "en": "Final (ck)"},
    "gb.col.tx": {"vi": "TX", "en": "Reg."},
    "gb.col.gk": {"vi": "GK", "en": "Mid"},
    "gb.col.ck": {"vi": "CK", "en": "Final"},
    "gb.col.avg": {"vi": "ĐTB", "en": "Avg"},
    "gb.value": {"vi": "Điểm", "en": "Score"},
    "gb.comment_value": {"vi": "Đạt / Chưa đạt", "en": "Pass / Not yet"},
    "gb.passed": {"vi": "Đạt", "en": "Pass"},
    "gb.not_passed": {"vi": "Chưa đạt", "en": "Not yet"},
    "gb.enter": {"vi": "Nhập một điểm", "en": "Enter a score"},
    "gb.enter_submit": {"vi": "Ghi và ký", "en": "Record and sign"},
    "gb.column": {"vi": "Nhập cả cột", "en": "Enter a whole column"},
    "gb.column_help": {
        "vi": "Để trống ô của học sinh không nhập. Cả cột được ký trong một lần lưu; "
        "nếu một ô sai, không ô nào được ghi.",
        "en": "Leave a student's box empty to skip them. The column is signed in one save; "
        "if one box is wrong, nothing is written.",
    },
    "gb.column_submit": {"vi": "Lưu cột và ký", "en": "Save the column and sign"},
    "gb.correct": {"vi": "Sửa một điểm đã nhập", "en": "Correct a recorded score"},
    "gb.correct_help": {
        "vi": "Điểm cũ được giữ lại trong lịch sử. Nếu học kỳ đã khóa sổ, việc sửa trở thành "
        "đề nghị đính chính, chỉ có hiệu lực khi Hiệu trưởng phê duyệt.",
        "en": "The old score stays in the history. If the term is closed, the correction "
        "becomes a proposal that takes effect once the principal approves it.",
    },
    "gb.entry": {"vi": "Điểm cần sửa", "en": "Score to correct"},
    "gb.reason": {"vi": "Lý do", "en": "Reason"},
    "gb.correct_submit": {"vi": "Sửa và ký", "en": "Correct and sign"},
    "gb.recorded": {"vi": "Đã ghi {n} điểm.", "en": "{n} score(s) recorded."},
    "gb.corrected": {"vi": "Đã sửa điểm.", "en": "Score corrected."},
    "gb.proposed": {
        "vi": "Học kỳ đã khóa sổ: đề nghị đính chính đã được gửi Hiệu trưởng phê duyệt.",
        "en": "The term is closed: the correction was sent to the principal for approval.",
    },
    "gb.homeroom": {"vi": "Chủ nhiệm: rèn luyện và nghỉ học", "en": "Homeroom: conduct, absences"},
    "gb.conduct": {"vi": "Rèn luyện", "en": "Conduct"},
    "gb.absences": {"vi": "Số buổi nghỉ", "en": "Sessions absent"},
    "gb.homeroom_submit": {"vi": "Ghi và ký", "en": "Record and sign"},
    "gb.homeroom_saved": {"vi": "Đã ghi.", "en": "Recorded."},
    "gb.choose": {"vi": "— chọn —", "en": "— choose —"},
    "gb.none": {"vi": "Chưa có học sinh.", "en": "No students yet."},
    "gb.no_subjects": {
        "vi": "Bạn không dạy môn nào có điểm số ở lớp này.",
        "en": "You teach no scored subject in this class.",
    },
    "gb.record_link": {"vi": "Học bạ", "en": "Record"},
    "gb.corrected_mark": {"vi": "đã sửa", "en": "corrected"},
    "gb.scroll_hint": {
        "vi": "Bảng rộng: vuốt ngang để xem hết.",
        "en": "Wide table: scroll sideways to see it all.",
    },
    # -- principal ------------------------------------------------------------------------------
    "pr.title": {"vi": "Trang Hiệu trưởng", "en": "Principal"},
    "pr.proposals": {"vi": "Đề nghị đính chính chờ phê duyệt", "en": "Corrections to approve"},
    "pr.no_proposals": {"vi": "Không có đề nghị nào.", "en": "No pending proposal."},
    "pr.old_value": {"vi": "Điểm cũ", "en": "Old"},
    "pr.new_value": {"vi": "Điểm mới", "en": "New"},
    "pr.proposed_by": {"vi": "Người đề nghị", "en": "Proposed by"},
    "pr.approve": {"vi": "Phê duyệt và ký", "en": "Approve and sign"},
    "pr.approved": {"vi": "Đã phê duyệt đính chính.", "en": "Correction approved."},
    "pr.close": {"vi": "Khóa sổ học kỳ", "en": "Close a term"},
    "pr.close_help": {
        "vi": "Sau khi khóa sổ, mọi thay đổi điểm của học kỳ phải được Hiệu trưởng phê duyệt.",
        "en": "After closing, every change to the term's scores needs the principal's approval.",
    },
    "pr.close_submit": {"vi": "Tiếp tục", "en": "Continue"},
    "pr.close_confirm": {
        "vi": "Xác nhận khóa sổ học kỳ {term} lớp {cls} năm học {year}?",
        "en": "Confirm closing term {term} of {cls}, {year}?",
    },
    "pr.close_confirm_submit": {"vi": "Khóa sổ và ký", "en": "Close and sign"},
    "pr.cancel": {"vi": "Hủy", "en": "Cancel"},
    "pr.closed": {
        "vi": "Đã khóa sổ học kỳ {term} lớp {cls}.",
        "en": "Term {term} of {cls} is closed.",
    },
    "pr.issue": {"vi": "Cấp học bạ số hàng loạt", "en": "Bulk issuance of transcripts"},
    "pr.issue_help": {
        "vi": "Mỗi học bạ được ký (GVCN, Hiệu trưởng) và đóng dấu thời gian.",
        "en": "Each transcript is signed (homeroom teacher, principal) and timestamped.",
    },
    "pr.year": {"vi": "Năm học", "en": "School year"},
    "pr.class": {"vi": "Lớp", "en": "Class"},
    "pr.all_classes": {"vi": "Tất cả các lớp", "en": "All classes"},
    "pr.issue_submit": {"vi": "Bắt đầu cấp", "en": "Start issuing"},
    "pr.classes": {"vi": "Các lớp", "en": "Classes"},
    "pr.show": {"vi": "Xem", "en": "Show"},
    "pr.recent_jobs": {"vi": "Các đợt cấp gần đây", "en": "Recent issuance jobs"},
    "pr.students": {"vi": "Sĩ số", "en": "Students"},
    "pr.terms_closed": {"vi": "Học kỳ đã khóa", "en": "Terms closed"},
    "pr.none": {"vi": "chưa", "en": "none"},
    "pr.not_principal": {
        "vi": "Trang này dành cho Hiệu trưởng và Phó hiệu trưởng.",
        "en": "This page is for the principal and deputies.",
    },
    # -- issuance job ---------------------------------------------------------------------------
    "iss.title": {"vi": "Tiến độ cấp học bạ", "en": "Issuance progress"},
    "iss.state.queued": {"vi": "Đang chờ", "en": "Queued"},
    "iss.state.running": {"vi": "Đang cấp", "en": "Running"},
    "iss.state.done": {"vi": "Hoàn tất", "en": "Finished"},
    "iss.state.failed": {"vi": "Có lỗi", "en": "Failed"},
    "iss.progress": {"vi": "{done} / {total} học bạ", "en": "{done} / {total} transcripts"},
    "iss.issued": {"vi": "Học bạ đã cấp", "en": "Issued transcripts"},
    "iss.download": {"vi": "Tải PDF", "en": "Download PDF"},
    "iss.refresh_note": {
        "vi": "Trang tự cập nhật cho đến khi hoàn tất.",
        "en": "This page refreshes itself until it finishes.",
    },
    "iss.errors": {"vi": "Không cấp được", "en": "Not issued"},
    "iss.number": {"vi": "Lần cấp", "en": "Issue no."},
    "iss.failed_detail": {
        "vi": "Đợt cấp dừng vì có lỗi; các học bạ đã cấp vẫn có hiệu lực.",
        "en": "The job stopped on an error; transcripts already issued remain valid.",
    },
    "iss.summary": {
        "vi": "Đã cấp mới: {issued} · Đã có bản hiện hành: {current} · Không cấp được: {failed}",
        "en": "Newly issued: {issued} · Already current: {current} · Not issued: {failed}",
    },
    # -- record ---------------------------------------------------------------------------------
    "rec.title": {"vi": "Học bạ {code}", "en": "Record {code}"},
    "rec.membership": {"vi": "Quá trình học", "en": "Classes"},
    "rec.scores": {"vi": "Điểm", "en": "Scores"},
    "rec.conduct": {"vi": "Rèn luyện", "en": "Conduct"},
    "rec.absences": {"vi": "Nghỉ học (buổi)", "en": "Absences (sessions)"},
    "rec.results": {"vi": "Kết quả cả năm", "en": "Year results"},
    "rec.transcripts": {"vi": "Học bạ số đã cấp", "en": "Issued transcripts"},
    "rec.history": {"vi": "Lịch sử có chữ ký", "en": "Signed history"},
    "rec.version": {"vi": "Phiên bản", "en": "Version"},
    "rec.event": {"vi": "Sự kiện", "en": "Event"},
    "rec.signed_by": {"vi": "Người ký", "en": "Signed by"},
    "rec.when": {"vi": "Thời điểm", "en": "When"},
    "rec.superseded": {"vi": "đã bị thay thế", "en": "superseded"},
    "rec.current": {"vi": "hiện hành", "en": "current"},
    "rec.none": {"vi": "Chưa có.", "en": "None yet."},
    "rec.school": {"vi": "Trường", "en": "School"},
    "rec.grade": {"vi": "Khối", "en": "Grade"},
    "rec.original": {"vi": "điểm ban đầu", "en": "original score"},
    "rec.corrections": {"vi": "Đính chính", "en": "Corrections"},
    "rec.approved_by": {"vi": "duyệt: {name}", "en": "approved by {name}"},
    "rec.learning": {"vi": "Học tập", "en": "Learning"},
    "rec.proposals": {"vi": "Đề nghị đính chính", "en": "Correction proposals"},
    "rec.approved": {"vi": "đã duyệt", "en": "approved"},
    "rec.pending": {"vi": "chờ duyệt", "en": "pending"},
    "rec.history_help": {
        "vi": "Mỗi dòng là một sự kiện được người thực hiện ký số, nối chuỗi với sự kiện trước.",
        "en": "Each line is an event signed by the person who made it, chained to the one before.",
    },
    "rec.history_all": {"vi": "Xem cả {n} sự kiện", "en": "Show all {n} events"},
    "rec.algorithm": {"vi": "Thuật toán ký", "en": "Signature algorithm"},
    "rec.shredded": {"vi": "đã hủy thông tin cá nhân", "en": "identity shredded"},
    "rec.transferred": {"vi": "đã chuyển đến trường {school}", "en": "transferred to {school}"},
    # -- ledger events (the record's history) ---------------------------------------------------
    "ev.Enrolled": {"vi": "Nhập học", "en": "Enrolled"},
    "ev.IdentityRecorded": {"vi": "Ghi lý lịch (mã hóa)", "en": "Identity recorded (encrypted)"},
    "ev.ClassJoined": {"vi": "Vào lớp", "en": "Joined a class"},
    "ev.TransferredOut": {"vi": "Chuyển đi", "en": "Transferred out"},
    "ev.TransferredIn": {"vi": "Chuyển đến", "en": "Transferred in"},
    "ev.ScoreRecorded": {"vi": "Ghi điểm", "en": "Score recorded"},
    "ev.CommentAssessed": {"vi": "Đánh giá bằng nhận xét", "en": "Comment assessment"},
    "ev.ScoreCorrected": {"vi": "Sửa điểm", "en": "Score corrected"},
    "ev.CommentCorrected": {"vi": "Sửa đánh giá nhận xét", "en": "Comment corrected"},
    "ev.CorrectionProposed": {"vi": "Đề nghị đính chính", "en": "Correction proposed"},
    "ev.CorrectionApproved": {"vi": "Phê duyệt đính chính", "en": "Correction approved"},
    "ev.ConductAssessed": {"vi": "Đánh giá rèn luyện", "en": "Conduct assessed"},
    "ev.AbsencesRecorded": {"vi": "Ghi số buổi nghỉ", "en": "Absences recorded"},
    "ev.RemarkRecorded": {"vi": "Ghi nhận xét (mã hóa)", "en": "Remark recorded (encrypted)"},
    "ev.YearResultRecorded": {"vi": "Ghi kết quả cả năm", "en": "Year result recorded"},
    "ev.SubjectReassessed": {"vi": "Kiểm tra lại", "en": "Subject re-assessed"},
    "ev.SummerConductReassessed": {"vi": "Rèn luyện trong hè", "en": "Summer conduct re-assessed"},
    "ev.AwardGranted": {"vi": "Khen thưởng", "en": "Award granted"},
    "ev.TranscriptIssued": {"vi": "Cấp học bạ số", "en": "Transcript issued"},
    "ev.TranscriptSuperseded": {"vi": "Thay thế học bạ số đã cấp", "en": "Transcript superseded"},
    "ev.SubjectLevelRecorded": {"vi": "Ghi mức đạt được môn học", "en": "Subject level recorded"},
    "ev.QualityAssessed": {"vi": "Đánh giá phẩm chất, năng lực", "en": "Quality assessed"},
    # -- refusals -------------------------------------------------------------------------------
    "err.title": {"vi": "Không thực hiện được", "en": "Cannot do that"},
    "err.back_home": {"vi": "Về trang chính", "en": "Back to home"},
    "err.score_range": {"vi": "Điểm phải từ 0 đến 10.", "en": "A score must be from 0 to 10."},
    "err.score_decimals": {
        "vi": "Điểm chỉ được có một chữ số thập phân (ví dụ 7,5).",
        "en": "A score has at most one decimal (e.g. 7.5).",
    },
    "err.score_nan": {
        "vi": "Điểm phải là một số (ví dụ 8 hoặc 7,5).",
        "en": "A score must be a number (e.g. 8 or 7.5).",
    },
    "err.score_integer": {"vi": "Điểm phải là số nguyên.", "en": "A score must be an integer."},
    "err.invalid": {"vi": "Dữ liệu không hợp lệ.", "en": "Invalid input."},
    "err.absences": {
        "vi": "Số buổi nghỉ phải là số nguyên từ 0 đến 200.",
        "en": "Absences must be a whole number from 0 to 200.",
    },
    "err.conduct": {
        "vi": "Mức rèn luyện phải là Tốt, Khá, Đạt hoặc Chưa đạt.",
        "en": "Conduct must be Tốt, Khá, Đạt or Chưa đạt.",
    },
    "err.incomplete": {
        "vi": "Chưa đủ điểm để khóa sổ: {detail}",
        "en": "Scores are missing, the term cannot close: {detail}",
    },
    "err.term_closed": {
        "vi": "Học kỳ đã khóa sổ: cần đề nghị đính chính và Hiệu trưởng phê duyệt.",
        "en": "The term is closed: a correction needs the principal's approval.",
    },
    "err.forbidden": {
        "vi": "Tài khoản của bạn không có quyền thực hiện việc này.",
        "en": "Your account may not do this.",
    },
    "err.not_found": {"vi": "Không tìm thấy.", "en": "Not found."},
    "err.exists": {
        "vi": "Việc này đã được thực hiện trước đó.",
        "en": "This was already done.",
    },
    "err.conflict": {
        "vi": "Có người vừa thay đổi cùng hồ sơ; vui lòng thử lại.",
        "en": "Someone changed the same record just now; please try again.",
    },
    "err.csrf": {
        "vi": "Biểu mẫu đã hết hạn hoặc không hợp lệ; vui lòng tải lại trang.",
        "en": "The form expired or is invalid; please reload the page.",
    },
    "err.storage": {
        "vi": "Hệ thống lưu trữ tạm thời không sẵn sàng; vui lòng thử lại.",
        "en": "Storage is temporarily unavailable; please try again.",
    },
    "err.rate_limited": {
        "vi": "Quá nhiều yêu cầu; vui lòng thử lại sau {seconds} giây.",
        "en": "Too many requests; please try again in {seconds} seconds.",
    },
    "err.too_large": {"vi": "Tệp quá lớn.", "en": "The file is too large."},
    "err.no_key": {
        "vi": "Tài khoản này không giữ khóa ký nên không thể ghi.",
        "en": "This account holds no signing key, so it cannot write.",
    },
    "err.missing_field": {
        "vi": "Vui lòng điền đủ các ô bắt buộc.",
        "en": "Please fill in every required field.",
    },
    "err.detail": {"vi": "Chi tiết kỹ thuật", "en": "Technical detail"},
    "err.server": {
        "vi": "Đã có lỗi phía máy chủ; thay đổi không được ghi.",
        "en": "A server error occurred; nothing was written.",
    },
    # -- public verification (H5): /verify and /verify/{transcript_id} --------------------------
    "vf.title": {"vi": "Xác minh học bạ số", "en": "Verify a digital transcript"},
    "vf.lead": {
        "vi": "Tải lên tệp PDF học bạ số để kiểm tra chữ ký số, dấu thời gian và bằng chứng "
        "trong sổ cái. Kết quả hiện ngay: xanh là hợp lệ, vàng là chưa xác định được, đỏ là "
        "không hợp lệ.",
        "en": "Upload the PDF of a digital transcript to check its digital signatures, "
        "time-stamp and ledger proof. The verdict shows at once: green is valid, amber "
        "cannot be determined, red is not valid.",
    },
    "vf.upload.title": {"vi": "Tải lên tệp học bạ (PDF)", "en": "Upload the transcript (PDF)"},
    "vf.file": {"vi": "Tệp học bạ số (.pdf)", "en": "Transcript file (.pdf)"},
    "vf.file_hint": {
        "vi": "Tối đa 20 MB. Tệp chỉ được dùng để kiểm tra, không được lưu lại.",
        "en": "Up to 20 MB. The file is only checked, never kept.",
    },
    "vf.submit": {"vi": "Kiểm tra", "en": "Verify"},
    "vf.qr.title": {"vi": "Quét mã QR trên bản in", "en": "Scan the QR code on a printout"},
    "vf.qr.lead": {
        "vi": "Dùng camera của điện thoại để quét mã QR in trên học bạ: trang tình trạng "
        "của bản cấp sẽ mở ra.",
        "en": "Use the phone's camera to scan the QR code printed on the transcript: the "
        "issue's status page opens.",
    },
    "vf.qr.start": {"vi": "Bật camera để quét", "en": "Start the camera"},
    "vf.qr.stop": {"vi": "Tắt camera", "en": "Stop the camera"},
    "vf.qr.starting": {"vi": "Đang bật camera…", "en": "Starting the camera…"},
    "vf.qr.looking": {
        "vi": "Hướng camera vào mã QR trên học bạ.",
        "en": "Point the camera at the QR code on the transcript.",
    },
    "vf.qr.denied": {
        "vi": "Không dùng được camera. Hãy cho phép truy cập camera, hoặc tải tệp PDF lên.",
        "en": "The camera is not available. Allow camera access, or upload the PDF.",
    },
    "vf.qr.foreign": {
        "vi": "Mã QR trỏ tới một hệ thống khác. Kiểm tra địa chỉ trước khi mở:",
        "en": "The QR code points to another system. Check the address before opening it:",
    },
    "vf.qr.other": {
        "vi": "Đây không phải mã QR của học bạ số; tiếp tục quét…",
        "en": "This is not the QR code of a digital transcript; still scanning…",
    },
    "vf.qr.opening": {"vi": "Đã đọc mã QR, đang mở…", "en": "QR code read, opening…"},
    "vf.how.title": {"vi": "Những gì được kiểm tra", "en": "What is checked"},
    "vf.how.signatures": {
        "vi": "Chữ ký số của giáo viên chủ nhiệm, Hiệu trưởng và con dấu của trường, chứng "
        "thư số còn hiệu lực lúc ký, tài liệu không bị sửa sau khi ký.",
        "en": "The digital signatures of the homeroom teacher, the principal and the "
        "school's seal, their certificates valid when signing, nothing changed after signing.",
    },
    "vf.how.ledger": {
        "vi": "Mọi điểm số trong học bạ khớp với các sự kiện đã ký trong sổ cái, do người có "
        "thẩm quyền ghi, và nằm trong sổ cái đã được nhân chứng đồng ký.",
        "en": "Every result in the transcript matches the signed events of the ledger, made "
        "by someone with the authority, included in the witnessed ledger.",
    },
    "vf.how.online": {
        "vi": "Với học bạ do hệ thống này cấp: bản cấp còn hiện hành hay đã bị thay thế.",
        "en": "For transcripts issued here: whether the issue is current or superseded.",
    },
    "vf.how.privacy": {
        "vi": "Trang này không lưu tệp và không cần đăng nhập.",
        "en": "This page keeps no file and needs no log-in.",
    },
    "vf.err.form": {
        "vi": "Yêu cầu không hợp lệ: hãy chọn tệp PDF trong biểu mẫu rồi bấm Kiểm tra.",
        "en": "Invalid request: choose the PDF in the form, then press Verify.",
    },
    "vf.err.no_file": {
        "vi": "Chưa chọn tệp: hãy chọn tệp PDF học bạ số.",
        "en": "No file chosen: choose the transcript's PDF.",
    },
    "vf.verdict.passed": {"vi": "Học bạ hợp lệ", "en": "Valid transcript"},
    "vf.verdict.passed.lead": {
        "vi": "Mọi chữ ký và bằng chứng đều đúng: học bạ do nhà trường cấp và không bị sửa đổi.",
        "en": "Every signature and proof holds: the school issued this transcript and "
        "nothing was changed.",
    },
    "vf.verdict.failed": {"vi": "Học bạ KHÔNG hợp lệ", "en": "NOT a valid transcript"},
    "vf.verdict.failed.lead": {
        "vi": "Ít nhất một kiểm tra không đạt: không dùng tệp này làm bằng chứng kết quả học tập.",
        "en": "At least one check failed: do not rely on this file as proof of results.",
    },
    "vf.verdict.indeterminate": {
        "vi": "Chưa xác định được tính hợp lệ",
        "en": "Validity cannot be determined",
    },
    "vf.verdict.indeterminate.lead": {
        "vi": "Không có lỗi chắc chắn, nhưng chưa đủ căn cứ để khẳng định: thử lại sau hoặc "
        "liên hệ nhà trường.",
        "en": "No definite failure, but not enough to confirm it: try again later or "
        "contact the school.",
    },
    "vf.subindication": {"vi": "Mã lý do:", "en": "Reason code:"},
    "vf.fresh.title": {"vi": "Tình trạng bản cấp", "en": "Status of the issue"},
    "vf.fresh.current_tag": {"vi": "Hiện hành", "en": "Current"},
    "vf.fresh.current": {
        "vi": "Đây là bản cấp lần {number}, là bản hiện hành trong sổ cái của nơi cấp.",
        "en": "This is issue {number}, the current issue in the issuer's ledger.",
    },
    "vf.fresh.superseded_tag": {"vi": "Đã bị thay thế", "en": "Superseded"},
    "vf.fresh.superseded": {
        "vi": "Bản cấp lần {number} đã bị thay thế bởi bản cấp lần {current} (sau một đính "
        "chính). Hãy yêu cầu bản mới nhất.",
        "en": "Issue {number} was superseded by issue {current} (after a correction). Ask "
        "for the latest issue.",
    },
    "vf.fresh.unknown_tag": {"vi": "Không có trong sổ cái", "en": "Not in the ledger"},
    "vf.fresh.later_tag": {"vi": "Chưa kiểm tra được", "en": "Not checked"},
    "vf.fresh.elsewhere_tag": {"vi": "Nơi cấp khác", "en": "Another issuer"},
    "vf.fresh.elsewhere": {
        "vi": "Học bạ này do hệ thống {issuer} cấp; tình trạng hiện hành không được kiểm tra "
        "ở đây. Quét mã QR trên học bạ để hỏi nơi cấp.",
        "en": "This transcript was issued by {issuer}; whether it is current is not checked "
        "here. Scan its QR code to ask the issuer.",
    },
    "vf.fresh.none_tag": {"vi": "Không rõ nơi cấp", "en": "Issuer unknown"},
    "vf.fresh.none": {
        "vi": "Tệp không cho biết nơi cấp hay hồ sơ, nên không hỏi được tình trạng hiện hành.",
        "en": "The file names no issuer or record, so its status could not be asked.",
    },
    "vf.claims.title": {"vi": "Nội dung học bạ", "en": "What the transcript says"},
    "vf.claims.verified": {
        "vi": "Các thông tin dưới đây lấy từ chính tệp đã được xác minh.",
        "en": "The details below come from the verified file itself.",
    },
    "vf.claims.unverified": {
        "vi": "Tệp không hợp lệ: các thông tin dưới đây là do tệp tự ghi, CHƯA được xác minh.",
        "en": "The file is not valid: the details below are its own claims, NOT verified.",
    },
    "vf.claims.name": {"vi": "Họ và tên", "en": "Name"},
    "vf.claims.born": {"vi": "Ngày sinh", "en": "Date of birth"},
    "vf.claims.code": {"vi": "Mã học sinh", "en": "Student code"},
    "vf.claims.school": {"vi": "Trường", "en": "School"},
    "vf.claims.level": {"vi": "Cấp học", "en": "Level"},
    "vf.claims.issue": {"vi": "Bản cấp", "en": "Issue"},
    "vf.claims.issue_value": {"vi": "lần {number}, ngày {date}", "en": "no. {number} of {date}"},
    "vf.claims.years": {"vi": "Kết quả các năm học", "en": "Results by school year"},
    "vf.claims.year": {"vi": "Năm học", "en": "School year"},
    "vf.claims.class": {"vi": "Lớp", "en": "Class"},
    "vf.claims.learning": {"vi": "Học tập", "en": "Learning"},
    "vf.claims.conduct": {"vi": "Rèn luyện", "en": "Conduct"},
    "vf.claims.outcome": {"vi": "Kết quả", "en": "Outcome"},
    "vf.claims.signers": {"vi": "Người ký", "en": "Signed by"},
    "vf.claims.shredded": {
        "vi": "(thông tin cá nhân đã được xóa theo quy định)",
        "en": "(personal data erased as the law allows)",
    },
    "vf.checks.title": {"vi": "Chi tiết các bước kiểm tra", "en": "The checks in detail"},
    "vf.checks.counts": {
        "vi": "{passed} đạt, {failed} không đạt, {unknown} chưa xác định. Bấm vào từng mục "
        "để xem chi tiết.",
        "en": "{passed} passed, {failed} failed, {unknown} undetermined. Open an item for "
        "its detail.",
    },
    "vf.status.passed": {"vi": "Đạt", "en": "Passed"},
    "vf.status.failed": {"vi": "Không đạt", "en": "Failed"},
    "vf.status.indeterminate": {"vi": "Chưa xác định", "en": "Undetermined"},
    "vf.check_name": {"vi": "Mã kiểm tra:", "en": "Check:"},
    "vf.text_report": {"vi": "Báo cáo dạng văn bản", "en": "Plain-text report"},
    "vf.file_info": {"vi": "Tệp đã kiểm tra", "en": "The file checked"},
    "vf.size": {"vi": "Kích thước", "en": "Size"},
    "vf.bytes": {"vi": "{n} byte", "en": "{n} bytes"},
    "vf.not_kept": {
        "vi": "Tệp không được lưu lại trên máy chủ.",
        "en": "The file is not kept on the server.",
    },
    "vf.again": {"vi": "Kiểm tra tệp khác", "en": "Verify another file"},
    "vf.group.pdf": {"vi": "Tệp PDF", "en": "The PDF file"},
    "vf.group.signatures": {"vi": "Chữ ký số và dấu thời gian", "en": "Signatures and time-stamps"},
    "vf.group.data": {"vi": "Dữ liệu học bạ", "en": "Transcript data"},
    "vf.group.ledger": {"vi": "Sổ cái", "en": "The ledger"},
    "vf.group.online": {"vi": "Đối chiếu với nơi cấp", "en": "Checked with the issuer"},
    "vf.group.other": {"vi": "Khác", "en": "Other"},
    "vf.check.pdf.structure": {"vi": "Cấu trúc tệp PDF", "en": "PDF structure"},
    "vf.check.pdf.trailing": {
        "vi": "Không có dữ liệu thừa cuối tệp",
        "en": "Nothing after the end of the file",
    },
    "vf.check.pdf.signatures": {"vi": "Các chữ ký trong tệp", "en": "Signatures in the file"},
    "vf.check.pdf.byterange": {
        "vi": "Phạm vi nội dung được ký ({field})",
        "en": "Signed byte range ({field})",
    },
    "vf.check.pdf.lock": {
        "vi": "Khóa tài liệu sau chữ ký cuối",
        "en": "Locked by the last signature",
    },
    "vf.check.pdf.modification": {
        "vi": "Không sửa đổi sau khi ký",
        "en": "No modification after signing",
    },
    "vf.check.pdf.forms": {"vi": "Không có ô nhập liệu", "en": "No form fields"},
    "vf.check.pdf.active_content": {
        "vi": "Không có mã chạy (JavaScript, hành động)",
        "en": "No active content (JavaScript, actions)",
    },
    "vf.check.signature": {"vi": "Chữ ký {field}", "en": "Signature {field}"},
    "vf.check.signature.GVCN": {
        "vi": "Chữ ký của giáo viên chủ nhiệm",
        "en": "Homeroom teacher's signature",
    },
    "vf.check.signature.HieuTruong": {
        "vi": "Chữ ký của Hiệu trưởng",
        "en": "Principal's signature",
    },
    "vf.check.signature.DauTruong": {"vi": "Con dấu điện tử của trường", "en": "School's seal"},
    "vf.check.signature.roles": {
        "vi": "Người ký đúng chức danh và trường",
        "en": "Signers hold the right posts, at the school",
    },
    "vf.check.timestamp": {"vi": "Dấu thời gian ({field})", "en": "Time-stamp ({field})"},
    "vf.check.attachments": {"vi": "Tệp dữ liệu đính kèm", "en": "Attached data files"},
    "vf.check.data.xml": {"vi": "XML khớp với JSON", "en": "XML matches JSON"},
    "vf.check.data.page": {
        "vi": "Trang in khớp với dữ liệu",
        "en": "The printed page matches the data",
    },
    "vf.check.data.derivation": {
        "vi": "Kết quả tính lại từ điểm số",
        "en": "Results recomputed from the scores",
    },
    "vf.check.ledger.events": {"vi": "Sự kiện của hồ sơ", "en": "The record's events"},
    "vf.check.ledger.chain": {"vi": "Chuỗi sự kiện liền mạch", "en": "Unbroken chain of events"},
    "vf.check.ledger.signatures": {"vi": "Chữ ký của từng sự kiện", "en": "Each event's signature"},
    "vf.check.ledger.witnesses": {
        "vi": "Điểm kiểm tra có nhân chứng đồng ký",
        "en": "Checkpoint cosigned by witnesses",
    },
    "vf.check.ledger.inclusion": {"vi": "Nằm trong sổ cái công khai", "en": "Included in the log"},
    "vf.check.ledger.data": {
        "vi": "Dữ liệu khớp với sổ cái",
        "en": "The data matches the ledger",
    },
    "vf.check.ledger.authority": {
        "vi": "Người ghi có thẩm quyền",
        "en": "Made by people with the authority",
    },
    "vf.check.online.status": {"vi": "Bản cấp còn hiện hành", "en": "The issue is current"},
    "vf.check.online.checkpoint": {
        "vi": "Sổ cái của nơi cấp nhất quán",
        "en": "The issuer's ledger is consistent",
    },
    "vf.check.verification": {"vi": "Quá trình kiểm tra", "en": "The verification itself"},
    "vf.sub.FORMAT_FAILURE": {
        "vi": "tệp không đúng định dạng học bạ số (không phải PDF, hỏng hoặc thiếu phần bắt buộc)",
        "en": "the file is not in the transcript format (not a PDF, damaged or incomplete)",
    },
    "vf.sub.HASH_FAILURE": {
        "vi": "nội dung đã bị thay đổi sau khi ký",
        "en": "the content was changed after it was signed",
    },
    "vf.sub.SIG_CRYPTO_FAILURE": {
        "vi": "chữ ký số không đúng về mặt mật mã",
        "en": "a digital signature does not verify",
    },
    "vf.sub.REVOKED": {
        "vi": "chứng thư số hoặc bản cấp đã bị thu hồi, thay thế",
        "en": "a certificate or the issue was revoked or superseded",
    },
    "vf.sub.EXPIRED": {"vi": "chứng thư số đã hết hạn", "en": "a certificate had expired"},
    "vf.sub.NOT_YET_VALID": {
        "vi": "chứng thư số chưa có hiệu lực lúc ký",
        "en": "a certificate was not yet valid when signing",
    },
    "vf.sub.SIG_CONSTRAINTS_FAILURE": {
        "vi": "chữ ký không đáp ứng yêu cầu của học bạ số",
        "en": "a signature does not meet the transcript's requirements",
    },
    "vf.sub.CHAIN_CONSTRAINTS_FAILURE": {
        "vi": "chuỗi chứng thư số không đáp ứng yêu cầu",
        "en": "the certificate chain does not meet the requirements",
    },
    "vf.sub.CRYPTO_CONSTRAINTS_FAILURE": {
        "vi": "thuật toán mật mã không còn được chấp nhận",
        "en": "a cryptographic algorithm is no longer accepted",
    },
    "vf.sub.NO_SIGNING_CERTIFICATE_FOUND": {
        "vi": "không tìm thấy chứng thư số của người ký",
        "en": "the signer's certificate was not found",
    },
    "vf.sub.NO_CERTIFICATE_CHAIN_FOUND": {
        "vi": "chứng thư số không dẫn tới tổ chức cấp được tin cậy",
        "en": "the certificate does not chain to a trusted authority",
    },
    "vf.sub.REVOKED_NO_POE": {
        "vi": "chứng thư số đã bị thu hồi và không có bằng chứng đã ký trước đó",
        "en": "the certificate was revoked and there is no proof of signing before",
    },
    "vf.sub.REVOKED_CA_NO_POE": {
        "vi": "tổ chức cấp chứng thư đã bị thu hồi",
        "en": "the certificate authority was revoked",
    },
    "vf.sub.OUT_OF_BOUNDS_NO_POE": {
        "vi": "thời điểm ký nằm ngoài thời hạn của chứng thư số",
        "en": "the signing time is outside the certificate's validity",
    },
    "vf.sub.OUT_OF_BOUNDS_NOT_REVOKED": {
        "vi": "thời điểm ký nằm ngoài thời hạn của chứng thư số",
        "en": "the signing time is outside the certificate's validity",
    },
    "vf.sub.CERTIFICATE_CHAIN_GENERAL_FAILURE": {
        "vi": "không kiểm tra được chuỗi chứng thư số",
        "en": "the certificate chain could not be checked",
    },
    "vf.sub.POLICY_PROCESSING_ERROR": {
        "vi": "không xử lý được chính sách chữ ký",
        "en": "the signature policy could not be processed",
    },
    "vf.sub.SIGNED_DATA_NOT_FOUND": {
        "vi": "không tìm thấy nội dung được ký",
        "en": "the signed data was not found",
    },
    "vf.sub.TIMESTAMP_ORDER_FAILURE": {
        "vi": "thứ tự các dấu thời gian không hợp lệ",
        "en": "the time-stamps are out of order",
    },
    "vf.sub.TRY_LATER": {
        "vi": "chưa đủ thông tin lúc này; thử lại sau",
        "en": "not enough information now; try again later",
    },
    "vf.sub.GENERIC": {"vi": "xem chi tiết các bước kiểm tra", "en": "see the checks below"},
    "vf.landing.title": {"vi": "Tình trạng học bạ số", "en": "Status of a digital transcript"},
    "vf.landing.current": {"vi": "Bản cấp hiện hành", "en": "Current issue"},
    "vf.landing.current_lead": {
        "vi": "Nhà trường đã cấp học bạ số này và chưa thay thế. Tải tệp PDF lên để kiểm tra "
        "đầy đủ chữ ký và nội dung.",
        "en": "The school issued this transcript and has not replaced it. Upload the PDF to "
        "check its signatures and content in full.",
    },
    "vf.landing.superseded": {"vi": "Bản cấp đã bị thay thế", "en": "Superseded issue"},
    "vf.landing.superseded_lead": {
        "vi": "Bản cấp này đã được thay thế (bản hiện hành là lần cấp {current}, sau một đính "
        "chính). Không dùng bản in này; hãy yêu cầu bản mới nhất.",
        "en": "This issue was replaced (the current one is issue {current}, after a "
        "correction). Do not rely on this printout; ask for the latest issue.",
    },
    "vf.landing.issue": {"vi": "Thông tin bản cấp", "en": "The issue"},
    "vf.landing.number": {"vi": "Lần cấp", "en": "Issue number"},
    "vf.landing.date": {"vi": "Ngày cấp", "en": "Issued on"},
    "vf.landing.status": {"vi": "Tình trạng", "en": "Status"},
    "vf.landing.sha": {"vi": "SHA-256 của tệp PDF đã cấp", "en": "SHA-256 of the issued PDF"},
    "vf.landing.tid": {"vi": "Mã học bạ", "en": "Transcript id"},
    "vf.landing.no_personal": {
        "vi": "Trang này không hiển thị thông tin cá nhân. Họ tên và kết quả học tập chỉ "
        "hiện khi tải lên chính tệp PDF.",
        "en": "This page shows no personal data. The name and results show only when the "
        "PDF itself is uploaded.",
    },
    "vf.landing.unknown": {"vi": "Không tìm thấy học bạ", "en": "Transcript not found"},
    "vf.landing.unknown_lead": {
        "vi": "Hệ thống này không cấp học bạ nào có mã này. Kiểm tra lại địa chỉ, hoặc tải "
        "tệp PDF lên để kiểm tra.",
        "en": "This system issued no transcript with this id. Check the address, or upload "
        "the PDF to check it.",
    },
    "vf.landing.upload": {"vi": "Kiểm tra đầy đủ tệp PDF", "en": "Check the PDF in full"},
    "vf.landing.upload_lead": {
        "vi": "Tải lên tệp học bạ số nhận được để đối chiếu chữ ký, nội dung và mã SHA-256.",
        "en": "Upload the transcript file you received to check its signatures, content and "
        "SHA-256.",
    },
    # -- inspector's pages (H5): /inspect/{school}, /inspect/records/{record} -------------------
    "ins.title": {"vi": "Thanh tra: {school}", "en": "Inspection: {school}"},
    "ins.kicker": {"vi": "Thanh tra (chỉ đọc)", "en": "Inspection (read-only)"},
    "ins.readonly": {
        "vi": "Mọi thay đổi trong sổ cái của trường: ai thay đổi gì, khi nào, trên thẩm quyền "
        "nào. Việc xem hồ sơ trên trang này được ghi lại.",
        "en": "Every change in the school's ledger: who changed what, when, on whose "
        "authority. Viewing records on this page is itself logged.",
    },
    "ins.stat.events": {"vi": "sự kiện của trường", "en": "events of the school"},
    "ins.stat.events_filtered": {"vi": "sự kiện khớp bộ lọc", "en": "events match the filter"},
    "ins.stat.anomalies": {"vi": "điểm bất thường cần xem", "en": "anomalies to look at"},
    "ins.stat.audit_ok": {
        "vi": "kiểm tra lại {events} sự kiện: đều hợp lệ",
        "en": "{events} events re-verified: all hold",
    },
    "ins.stat.audit_bad": {
        "vi": "kiểm tra lại: {problems} lỗi toàn vẹn",
        "en": "re-verification: {problems} integrity problems",
    },
    "ins.chart.title.day": {"vi": "Số thay đổi theo ngày", "en": "Changes per day"},
    "ins.chart.title.week": {"vi": "Số thay đổi theo tuần", "en": "Changes per week"},
    "ins.chart.title.month": {"vi": "Số thay đổi theo tháng", "en": "Changes per month"},
    "ins.chart.desc.day": {
        "vi": "{total} sự kiện trong {periods} ngày; nhiều nhất: {busiest} với {most} sự kiện.",
        "en": "{total} events over {periods} days; the busiest: {busiest} with {most}.",
    },
    "ins.chart.desc.week": {
        "vi": "{total} sự kiện trong {periods} tuần; nhiều nhất: {busiest} với {most} sự kiện.",
        "en": "{total} events over {periods} weeks; the busiest: the {busiest} with {most}.",
    },
    "ins.chart.desc.month": {
        "vi": "{total} sự kiện trong {periods} tháng; nhiều nhất: tháng {busiest} với {most} "
        "sự kiện.",
        "en": "{total} events over {periods} months; the busiest: {busiest} with {most}.",
    },
    "ins.chart.axis": {"vi": "sự kiện", "en": "events"},
    "ins.chart.table": {"vi": "Xem số liệu dạng bảng", "en": "Show the numbers as a table"},
    "ins.chart.period": {"vi": "Thời gian", "en": "Period"},
    "ins.chart.count": {"vi": "Số sự kiện", "en": "Events"},
    "ins.chart.empty": {
        "vi": "Không có sự kiện nào trong khoảng đã chọn.",
        "en": "No events in the chosen range.",
    },
    "ins.anomalies.title": {"vi": "Điểm bất thường", "en": "Anomalies"},
    "ins.severity.violation": {"vi": "Vi phạm", "en": "Violation"},
    "ins.severity.question": {"vi": "Cần hỏi", "en": "Question"},
    "ins.anomalies.events": {"vi": "{n} sự kiện", "en": "{n} events"},
    "ins.anomalies.more": {
        "vi": "Còn {n} điểm khác: xem trong báo cáo thanh tra.",
        "en": "{n} more: see the audit report.",
    },
    "ins.anomalies.none": {
        "vi": "Không phát hiện điểm bất thường nào.",
        "en": "No anomalies found.",
    },
    "ins.timeline.title": {"vi": "Dòng thời gian thay đổi", "en": "Timeline of changes"},
    "ins.filter.invalid": {
        "vi": "Bộ lọc không hợp lệ (ngày theo dạng 2025-09-05, mã gồm chữ và số); đang hiện "
        "toàn bộ dòng thời gian.",
        "en": "Invalid filter (days as 2025-09-05, codes of letters and digits); showing the "
        "whole timeline.",
    },
    "ins.filter.title": {"vi": "Lọc dòng thời gian", "en": "Filter the timeline"},
    "ins.filter.from": {"vi": "Từ ngày", "en": "From"},
    "ins.filter.to": {"vi": "Đến ngày", "en": "To"},
    "ins.filter.actor": {"vi": "Người thực hiện (mã cán bộ)", "en": "Actor (staff code)"},
    "ins.filter.record": {
        "vi": "Hồ sơ (mã học sinh, mã cán bộ)",
        "en": "Record (student or staff code)",
    },
    "ins.filter.event": {"vi": "Loại sự kiện", "en": "Event type"},
    "ins.filter.apply": {"vi": "Lọc", "en": "Filter"},
    "ins.filter.clear": {"vi": "Bỏ lọc", "en": "Clear"},
    "ins.timeline.count": {
        "vi": "{total} sự kiện · trang {page}/{pages} · mới nhất trước",
        "en": "{total} events · page {page} of {pages} · newest first",
    },
    "ins.scroll_hint": {
        "vi": "Vuốt ngang để xem hết bảng.",
        "en": "Swipe sideways for the whole table.",
    },
    "ins.col.time": {"vi": "Thời gian", "en": "Time"},
    "ins.col.event": {"vi": "Sự kiện", "en": "Event"},
    "ins.col.record": {"vi": "Hồ sơ", "en": "Record"},
    "ins.col.what": {"vi": "Nội dung", "en": "What"},
    "ins.col.signer": {"vi": "Người ký", "en": "Signed by"},
    "ins.col.basis": {"vi": "Thẩm quyền", "en": "Authority"},
    "ins.col.certificate": {"vi": "Chứng thư số", "en": "Certificate"},
    "ins.col.authority": {"vi": "Thẩm quyền và kiểm tra", "en": "Authority and check"},
    "ins.basis.none": {"vi": "không có thẩm quyền", "en": "no authority found"},
    "ins.pager": {"vi": "Các trang", "en": "Pages"},
    "ins.pager.newer": {"vi": "Mới hơn", "en": "Newer"},
    "ins.pager.older": {"vi": "Cũ hơn", "en": "Older"},
    "ins.pager.earlier": {"vi": "Trước", "en": "Earlier"},
    "ins.pager.later": {"vi": "Sau", "en": "Later"},
    "ins.pager.page": {"vi": "Trang {page}/{pages}", "en": "Page {page} of {pages}"},
    "ins.timeline.empty": {
        "vi": "Không có sự kiện nào khớp bộ lọc.",
        "en": "No events match the filter.",
    },
    "ins.report.title": {"vi": "Báo cáo thanh tra", "en": "Audit report"},
    "ins.report.lead": {
        "vi": "Báo cáo đầy đủ: kiểm tra lại mọi chữ ký, tổng hợp theo người ký và hồ sơ, các "
        "lần đính chính, điểm bất thường và dòng thời gian.",
        "en": "The full report: every signature re-verified, summaries per signer and record, "
        "the corrections, anomalies and the timeline.",
    },
    "ins.report.pdf": {"vi": "Tải báo cáo PDF", "en": "Download the PDF report"},
    "ins.report.csv": {"vi": "CSV (toàn bộ dòng thời gian)", "en": "CSV (the whole timeline)"},
    "ins.report.format": {"vi": "Định dạng", "en": "Format"},
    "ins.report.language": {"vi": "Ngôn ngữ", "en": "Language"},
    "ins.report.table": {"vi": "Bảng (với CSV)", "en": "Table (for CSV)"},
    "ins.report.table.timeline": {"vi": "Dòng thời gian", "en": "Timeline"},
    "ins.report.table.anomalies": {"vi": "Điểm bất thường", "en": "Anomalies"},
    "ins.report.table.per-signer": {"vi": "Theo người ký", "en": "Per signer"},
    "ins.report.table.corrections": {"vi": "Đính chính", "en": "Corrections"},
    "ins.report.table.records": {"vi": "Theo hồ sơ", "en": "Per record"},
    "ins.report.download": {"vi": "Tải về", "en": "Download"},
    "ins.record.title": {"vi": "Thanh tra hồ sơ {label}", "en": "Inspection of record {label}"},
    "ins.record.school": {"vi": "Trường {code}", "en": "School {code}"},
    "ins.record.kind.student": {"vi": "Học bạ", "en": "Student record"},
    "ins.record.kind.staff": {"vi": "Hồ sơ cán bộ", "en": "Staff file"},
    "ins.record.lead": {
        "vi": "Toàn bộ lịch sử của hồ sơ: mỗi sự kiện với người ký, chứng thư số đã dùng để ký "
        "và thẩm quyền lúc ký.",
        "en": "The record's whole history: every event with its signer, the certificate it "
        "was signed with and the authority at that time.",
    },
    "ins.record.audit_ok": {
        "vi": "Mọi sự kiện của hồ sơ đều hợp lệ",
        "en": "Every event of the record holds",
    },
    "ins.record.audit_bad": {
        "vi": "Hồ sơ có sự kiện không hợp lệ",
        "en": "The record has events that do not hold",
    },
    "ins.record.audit_lead": {
        "vi": "Đã kiểm tra lại {events} sự kiện: mã băm, chuỗi liên kết, chữ ký, chứng thư "
        "tại thời điểm ký và thẩm quyền.",
        "en": "{events} events re-verified: hash, chain, signature, certificate at signing "
        "time and authority.",
    },
    "ins.record.count": {
        "vi": "{total} sự kiện · trang {page}/{pages} · cũ nhất trước",
        "en": "{total} events · page {page} of {pages} · oldest first",
    },
    "ins.cert.issuer": {"vi": "do {issuer} cấp", "en": "issued by {issuer}"},
    "ins.verdict.ok": {"vi": "đã kiểm tra", "en": "verified"},
    "ins.verdict.bad": {"vi": "không hợp lệ", "en": "does not hold"},
}


def t(key: str, lang: str = DEFAULT, **values: object) -> str:
    """The message ``key`` in ``lang`` (Vietnamese for an unknown language), formatted."""
    entry = MESSAGES[key]
    text = entry.get(lang) or entry[DEFAULT]
    return text.format(**values) if values else text
