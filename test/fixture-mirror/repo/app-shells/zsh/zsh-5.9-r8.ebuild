# Fixture ebuild (automagic test mirror), modelled on gentoo/gentoo app-shells/zsh.
EAPI=8
inherit fixture-debian

DESCRIPTION="UNIX Shell similar to the Korn shell (fixture: Debian's build)"
HOMEPAGE="https://www.zsh.org/"
LICENSE="ZSH"
SLOT="0"
KEYWORDS="amd64 x86"

pkg_postinst() {
	grep -qx /bin/zsh "${EROOT}"/etc/shells || echo /bin/zsh >>"${EROOT}"/etc/shells
	grep -qx /usr/bin/zsh "${EROOT}"/etc/shells || echo /usr/bin/zsh >>"${EROOT}"/etc/shells
}
