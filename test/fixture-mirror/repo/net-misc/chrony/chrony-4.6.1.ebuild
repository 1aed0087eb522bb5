# Fixture ebuild (automagic test mirror), modelled on gentoo/gentoo net-misc/chrony.
EAPI=8
inherit fixture-debian

DESCRIPTION="NTP client and server programs (fixture: Debian's build)"
HOMEPAGE="https://chrony-project.org/"
LICENSE="GPL-2"
SLOT="0"
KEYWORDS="amd64 x86"

src_install() {
	fixture-debian_src_install
	# Gentoo's service names: chronyd (OpenRC and systemd).
	newinitd "${FILESDIR}"/chronyd.initd chronyd
	insinto /usr/lib/systemd/system
	newins "${FILESDIR}"/chronyd.service chronyd.service
	rm -rf "${ED}"/etc/init.d/chrony "${ED}"/usr/lib/systemd/system/chrony.service || die
}
