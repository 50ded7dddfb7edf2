export type CertificateInput = {
  awardId: string;
  organisationName: string;
  streamName: string;
  areaName: string;
  awardedAt: Date;
  expiresAt: Date;
  /** Absolute URL of the award's public register page. */
  verificationUrl: string;
};

const longDate = (d: Date) =>
  d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

/**
 * The award certificate: one A4 landscape page with the organisation, stream, award and expiry
 * dates, and the verification URL (the public register page for this award). Built in memory: it is
 * a few kilobytes. Content streams are left uncompressed so the text can be checked and indexed.
 */
export async function renderCertificate(c: CertificateInput): Promise<Buffer> {
  // Loaded on the first certificate, not at every start.
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margin: 56,
    compress: false,
    info: {
      Title: `Sanctuary Award certificate: ${c.organisationName}`,
      Subject: `${c.streamName} of Sanctuary award ${c.awardId}`,
      Author: 'City of Sanctuary UK',
      Creator: 'Sanctuary Awards appraisal service',
      Keywords: c.verificationUrl,
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const width = doc.page.width - 112;
  doc
    .rect(28, 28, doc.page.width - 56, doc.page.height - 56)
    .lineWidth(3)
    .stroke('#1b5e20');
  doc.moveDown(2);
  doc
    .font('Helvetica')
    .fontSize(16)
    .fillColor('#333333')
    .text('City of Sanctuary UK', { align: 'center', width });
  doc.moveDown(0.5);
  doc
    .font('Helvetica-Bold')
    .fontSize(34)
    .fillColor('#1b5e20')
    .text('Sanctuary Award', { align: 'center', width });
  doc.moveDown(1);
  doc
    .font('Helvetica')
    .fontSize(14)
    .fillColor('#333333')
    .text('This certifies that', { align: 'center', width });
  doc.moveDown(0.5);
  doc
    .font('Helvetica-Bold')
    .fontSize(28)
    .fillColor('#000000')
    .text(c.organisationName, { align: 'center', width });
  doc.moveDown(0.5);
  doc
    .font('Helvetica')
    .fontSize(14)
    .fillColor('#333333')
    .text(`has been recognised as a place of welcome for people seeking sanctuary`, {
      align: 'center',
      width,
    })
    .text(`Stream: ${c.streamName}   ·   Area: ${c.areaName}`, { align: 'center', width });
  doc.moveDown(1);
  doc
    .font('Helvetica-Bold')
    .fontSize(14)
    .text(`Awarded ${longDate(c.awardedAt)}   ·   Valid until ${longDate(c.expiresAt)}`, {
      align: 'center',
      width,
    });
  doc.moveDown(2);
  doc
    .font('Helvetica')
    .fontSize(10)
    .fillColor('#555555')
    .text('Check this award on the public register:', { align: 'center', width })
    .fillColor('#0b3d91')
    .text(c.verificationUrl, { align: 'center', width, link: c.verificationUrl, underline: true })
    .fillColor('#555555')
    .text(`Award ${c.awardId}`, { align: 'center', width });
  doc.end();
  return done;
}
